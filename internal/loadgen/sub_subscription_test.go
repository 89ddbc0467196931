package loadgen

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
)

// The sub mode reads as a worker does: with a key of its own, one request
// per batch (each fetch acknowledges the batch before it, no POST …/ack),
// and it leaves neither subscriptions nor keys behind.
func TestSubModeOneRequestPerBatch(t *testing.T) {
	s := servertest.Start(t, server.Config{})
	const subs, events = 5, 30
	res, err := Run(context.Background(), Config{Mode: ModeSub, URL: s.URL(), Key: s.Admin, Topic: "bench.subreq",
		Subscribers: subs, Publishers: 1, Events: events, Duration: time.Minute, ServerPID: os.Getpid(), Cleanup: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Delivered != subs*events || res.Missing != 0 || res.Duplicates != 0 || len(res.Warnings) != 0 {
		t.Fatalf("result %+v", res)
	}
	e, err := newEnv(&Config{URL: s.URL(), Key: s.Admin}, "check")
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	var list struct{ Subscriptions []struct{ Name string } }
	var keys struct{ Keys []struct{ Name string } }
	if err := e.adminCall(t.Context(), "GET", "/v1/subscriptions", nil, &list); err != nil || len(list.Subscriptions) != 0 {
		t.Fatalf("subscriptions left: %+v, %v", list, err)
	}
	if err := e.adminCall(t.Context(), "GET", "/v1/keys", nil, &keys); err != nil || len(keys.Keys) != 1 {
		t.Fatalf("keys left: %+v, %v", keys, err)
	}
	// The fetches each answered once the one before was answered, so they
	// are at most a batch per event and one waiting, per subscriber (their
	// handlers count once they return: the last ones may not have yet).
	byRoute := requests(t, e)
	if n := byRoute["POST /v1/subscriptions/{name}/ack"]; n != 0 {
		t.Errorf("%d acknowledgements on their own", n)
	}
	if n := byRoute["GET /v1/subscriptions/{name}/events"]; n < subs || n > subs*(events+1) {
		t.Errorf("%d fetches for %d subscribers of %d events", n, subs, events)
	}
}

// requests counts the server's answered requests by route.
func requests(t *testing.T, e *env) map[string]int {
	t.Helper()
	req, _ := http.NewRequest("GET", e.url("/metrics", "").String(), nil)
	req.Header = e.bearer()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]int{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), `herald_http_requests_total{code="`)
		if !ok {
			continue
		}
		_, rest, _ = strings.Cut(rest, `",route="`)
		route, v, _ := strings.Cut(rest, `"} `)
		n, _ := strconv.Atoi(v)
		out[route] += n
	}
	return out
}
