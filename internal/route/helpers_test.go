package route_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
)

type env struct {
	*servertest.Server
	t *testing.T
}

func start(t *testing.T) *env {
	return &env{Server: servertest.Start(t, server.Config{}), t: t}
}

type answer struct {
	status int
	raw    string
	json   map[string]any
}

// call makes a request with header h ("Bearer …", "Basic …", "hue:<key>").
func (e *env) call(method, path, cred, ctype, body string) answer {
	e.t.Helper()
	req, err := http.NewRequest(method, e.URL()+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	switch {
	case strings.HasPrefix(cred, "hue:"):
		req.Header.Set("hue-application-key", strings.TrimPrefix(cred, "hue:"))
	case cred != "":
		req.Header.Set("Authorization", cred)
	}
	if ctype == "" && body != "" {
		ctype = "application/json"
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, raw: string(raw)}
	_ = json.Unmarshal(raw, &a.json)
	return a
}

func (e *env) admin(method, path, body string) answer {
	e.t.Helper()
	return e.call(method, path, "Bearer "+e.Admin, "", body)
}

func (e *env) must(a answer, status int) answer {
	e.t.Helper()
	if a.status != status {
		e.t.Fatalf("status %d, want %d: %s", a.status, status, a.raw)
	}
	return a
}

// zulipUser adds a Zulip user and returns its Basic credential and key id.
func (e *env) zulipUser(email string) (basic, keyID string) {
	e.t.Helper()
	a := e.must(e.admin("POST", "/v1/zulip/users", `{"email":"`+email+`","full_name":"Door Bell"}`), 201)
	key, _ := a.json["api_key"].(string)
	id, _ := a.json["key_id"].(string)
	if key == "" || id == "" {
		e.t.Fatalf("user: %s", a.raw)
	}
	return "Basic " + basicAuth(email, key), id
}

func basicAuth(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// hueApp pairs a Hue application and returns its key and key id.
func (e *env) hueApp() (key, keyID string) {
	e.t.Helper()
	e.must(e.admin("POST", "/v1/hue/link", `{}`), 200)
	a := e.call("POST", "/api", "", "", `{"devicetype":"route#test","generateclientkey":true}`)
	var out []struct {
		Success struct {
			Username string `json:"username"`
		} `json:"success"`
	}
	if err := json.Unmarshal([]byte(a.raw), &out); err != nil || len(out) == 0 || out[0].Success.Username == "" {
		e.t.Fatalf("pairing: %s", a.raw)
	}
	key = out[0].Success.Username
	id, _, err := auth.ParseToken(key)
	if err != nil {
		e.t.Fatal(err)
	}
	return key, id
}

// events long-polls the native API (admin) for events on topics after seq.
func (e *env) events(topics string, after uint64) []map[string]any {
	e.t.Helper()
	a := e.must(e.admin("GET", "/v1/events?topics="+url.QueryEscape(topics)+"&after="+itoa(after)+"&wait=0", ""), 200)
	list, _ := a.json["events"].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, v := range list {
		out = append(out, v.(map[string]any))
	}
	return out
}

// waitFor polls cond; the deadline only guards against a hang.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// publish appends one native event as the admin and returns its sequence.
func (e *env) publish(body string) uint64 {
	e.t.Helper()
	a := e.must(e.admin("POST", "/v1/events", body), 201)
	evs, _ := a.json["events"].([]any)
	if len(evs) != 1 {
		e.t.Fatalf("publish: %s", a.raw)
	}
	return uint64(evs[0].(map[string]any)["seq"].(float64))
}
