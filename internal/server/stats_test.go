package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
)

type statsHistory struct {
	Node    string `json:"node"`
	EveryMS int64  `json:"every_ms"`
	KeepMS  int64  `json:"keep_ms"`
	Samples []struct {
		T         int64              `json:"t"`
		Appended  float64            `json:"appended"`
		Delivered map[string]float64 `json:"delivered"`
		P99       *float64           `json:"publish_p99_ms"`
	} `json:"samples"`
}

func getStats(t *testing.T, s *servertest.Server, query string) (int, statsHistory, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL()+"/v1/stats/history"+query, nil)
	req.Header.Set("Authorization", "Bearer "+s.Admin)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var h statsHistory
	json.Unmarshal(b, &h)
	return res.StatusCode, h, string(b)
}

// GET /v1/stats/history answers the node's recent samples: appends show
// up as a rate, with their p99; since= answers only the newer ones.
func TestStatsHistory(t *testing.T) {
	s := servertest.Start(t, server.Config{StatsEvery: 20 * time.Millisecond})
	for i := range 5 {
		req, _ := http.NewRequest("POST", s.URL()+"/v1/events", strings.NewReader(fmt.Sprintf(`{"topic":"app.s","data":%d}`, i)))
		req.Header.Set("Authorization", "Bearer "+s.Admin)
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 201 {
			t.Fatalf("publish: %v %v", res, err)
		}
		res.Body.Close()
	}
	var h statsHistory
	deadline := time.Now().Add(10 * time.Second)
	for appended := 0.0; appended == 0; {
		if time.Now().After(deadline) {
			t.Fatalf("no sample shows the appends: %+v", h)
		}
		time.Sleep(20 * time.Millisecond)
		var code int
		var body string
		code, h, body = getStats(t, s, "")
		if code != 200 || h.EveryMS != 20 || h.KeepMS != (15*time.Minute).Milliseconds() || h.Node == "" {
			t.Fatalf("GET /v1/stats/history: %d %s", code, body)
		}
		for _, sm := range h.Samples {
			if sm.Appended > 0 && sm.P99 == nil {
				t.Fatalf("a sample with appends has no p99: %+v", sm)
			}
			appended += sm.Appended
		}
	}
	last := h.Samples[len(h.Samples)-1].T
	if code, newer, body := getStats(t, s, fmt.Sprintf("?since=%d", last)); code != 200 || len(newer.Samples) > 0 && newer.Samples[0].T <= last {
		t.Errorf("since=%d: %d %s", last, code, body)
	}
	if code, _, body := getStats(t, s, "?since=yesterday"); code != 400 || !strings.Contains(body, `"bad_request"`) {
		t.Errorf("since=yesterday: %d %s, want 400 bad_request", code, body)
	}
}
