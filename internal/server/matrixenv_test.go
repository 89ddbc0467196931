package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
)

// matrixEnv is a server with one credential of every kind and the
// resources the rows of the route tables refer to (see expand).
type matrixEnv struct {
	t      *testing.T
	s      *servertest.Server
	client *http.Client
	vars   map[string]string
	creds  []cred
	// timeout, if set, bounds each request; one that runs out is answered
	// with status 0.
	timeout time.Duration
}

func newMatrixEnv(t *testing.T) *matrixEnv {
	t.Helper()
	s := servertest.Start(t, server.Config{})
	e := &matrixEnv{t: t, s: s, vars: map[string]string{},
		client: &http.Client{
			Transport:     &http.Transport{},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}}
	t.Cleanup(e.client.CloseIdleConnections)
	admin := http.Header{"Authorization": {"Bearer " + s.Admin}, "Content-Type": {"application/json"}}
	call := func(method, path string, hdr http.Header, body string, out any) {
		t.Helper()
		if st, _, b := request(t, e.client, method, s.URL()+path, hdr, body, out); st >= 300 {
			t.Fatalf("setup: %s %s: %d %s", method, path, st, b)
		}
	}
	var k struct{ ID, Token string }
	secrets := map[secretKind]string{secretAdmin: s.Admin, secretGarbage: "not-a-key"}
	call("POST", "/v1/keys", admin, `{"name":"plain"}`, &k)
	secrets[secretPlain] = k.Token
	call("POST", "/v1/keys", admin, `{"name":"scoped","publish":["app.>"],"subscribe":["app.>"]}`, &k)
	secrets[secretScoped] = k.Token
	call("POST", "/v1/keys", admin, `{"name":"revoked"}`, &k)
	secrets[secretRevoked] = k.Token
	call("DELETE", "/v1/keys/"+k.ID, admin, "", nil)
	call("POST", "/v1/keys", admin, `{"name":"doomed"}`, &k)
	e.vars["doomed-key"] = k.ID
	var rule struct{ ID string }
	call("POST", "/v1/faults", admin, `{"action":"delay","delay":"1ms","key":"ffffffffffffffff"}`, &rule)
	e.vars["fault"] = rule.ID

	// Hue: an application key, a lamp, a switch, a dial, a sensor, and a
	// room for each column that may delete one.
	call("POST", "/v1/hue/link", admin, `{}`, nil)
	var pair []struct{ Success struct{ Username string } }
	call("POST", "/api", nil, `{"devicetype":"matrix#go"}`, &pair)
	if len(pair) != 1 || pair[0].Success.Username == "" {
		t.Fatalf("setup: pairing: %+v", pair)
	}
	secrets[secretHue] = pair[0].Success.Username
	for _, d := range [][2]string{{"color_lamp", "Desk"}, {"dimmer_switch", "Hall"}, {"tap_dial", "Dial"}, {"motion_sensor", "Porch"}} {
		var dev struct{ Data []struct{ RID, RType string } }
		call("POST", "/v1/hue/devices", admin, fmt.Sprintf(`{"product":%q,"name":%q}`, d[0], d[1]), &dev)
		for _, svc := range dev.Data {
			if svc.RType == "light" {
				e.vars["light"] = svc.RID
			}
		}
	}
	for _, c := range []string{"hue", "admin-as-hue"} {
		var room struct{ Data []struct{ RID string } }
		call("POST", "/clip/v2/resource/room", http.Header{"hue-application-key": {secrets[secretHue]}},
			`{"metadata":{"name":"Doomed `+c+`","archetype":"office"},"children":[]}`, &room)
		e.vars["room-"+c] = room.Data[0].RID
	}

	// Zulip: a user with two queues, another user, one to delete, a stream.
	var zu struct {
		APIKey string `json:"api_key"`
	}
	for _, email := range []string{"doomed@example.com", "other@example.com", "matrix@example.com"} {
		call("POST", "/v1/zulip/users", admin, fmt.Sprintf(`{"email":%q,"full_name":"Matrix"}`, email), &zu)
	}
	secrets[secretZulip] = zu.APIKey
	e.vars["zulip-email"], e.vars["zulip-key"] = "matrix@example.com", zu.APIKey
	call("POST", "/v1/zulip/streams", admin, `{"name":"general"}`, nil)
	form := http.Header{"Authorization": {basicAuth("matrix@example.com", zu.APIKey)},
		"Content-Type": {"application/x-www-form-urlencoded"}}
	for _, q := range []string{"queue", "queue2"} {
		var reg struct {
			QueueID string `json:"queue_id"`
		}
		call("POST", "/api/v1/register", form, url.Values{"event_types": {`["message"]`}}.Encode(), &reg)
		e.vars[q] = reg.QueueID
	}
	var me struct {
		UserID int64 `json:"user_id"`
	}
	call("GET", "/api/v1/users/me", form, "", &me)
	e.vars["zulip-id"] = fmt.Sprint(me.UserID)

	// Jetstream: a subscribed user (its first, empty batch) and one to delete.
	var ju struct {
		ID        string `json:"id"`
		AccessKey string `json:"access_key"`
	}
	call("POST", "/v1/jetstream/users", admin, `{"name":"doomed"}`, &ju)
	e.vars["js-doomed"] = ju.ID
	call("POST", "/v1/jetstream/users", admin, `{"name":"matrix"}`, &ju)
	secrets[secretJetstream] = ju.AccessKey
	var batch struct {
		BatchID string `json:"BatchId"`
	}
	call("GET", "/3/events", http.Header{"AccessKey": {ju.AccessKey}}, "", &batch)
	e.vars["batch"] = batch.BatchID

	// Webhooks: an endpoint, one to delete, an inbound hook, one to delete.
	var wh struct{ ID string }
	for _, v := range []string{"webhook", "webhook-doomed"} {
		call("POST", "/v1/webhooks", admin, `{"url":"https://example.org/hook","topics":["app.wh.>"]}`, &wh)
		e.vars[v] = wh.ID
	}
	for _, name := range []string{"matrix", "doomed"} {
		call("POST", "/v1/hooks", admin, `{"name":"`+name+`","topic":"app.hook","scheme":"bearer"}`, nil)
	}

	var tok struct{ Token string }
	call("POST", "/v1/plex/tokens", admin, `{"name":"matrix"}`, &tok)
	secrets[secretPlex] = tok.Token
	var doomed struct{ ID string }
	call("POST", "/v1/plex/tokens", admin, `{"name":"doomed"}`, &doomed)
	e.vars["plex-doomed"] = doomed.ID

	for _, c := range creds {
		c.header = http.Header{}
		v := secrets[c.secret]
		switch c.form {
		case formBearer:
			c.header.Set("Authorization", "Bearer "+v)
		case formHue:
			c.header.Set("hue-application-key", v)
		case formBasic:
			email := "matrix@example.com"
			if c.wrongEmail {
				email = "other@example.com"
			}
			c.header.Set("Authorization", basicAuth(email, v))
		case formAccessKey:
			c.header.Set("AccessKey", v)
		case formPlex:
			c.header.Set("X-Plex-Token", v)
		case formEverywhere:
			for _, h := range []string{"hue-application-key", "AccessKey", "X-Plex-Token"} {
				c.header.Set(h, v)
			}
			c.header.Set("Authorization", "Bearer "+v)
		}
		e.creds = append(e.creds, c)
	}
	return e
}

// expand fills in a row's ${cred} (the column's name) and ${name}s; a
// name without a value (a resource only admitted columns have) is a
// well-formed id of nothing.
func (e *matrixEnv) expand(s string, c cred) string {
	return os.Expand(strings.ReplaceAll(s, "${cred}", c.name), func(name string) string {
		if v, ok := e.vars[name]; ok {
			return v
		}
		return "00000000-0000-4000-8000-000000000000"
	})
}

// send makes one request as c. A stream (SSE, WebSocket) is closed once
// its head is in.
func (e *matrixEnv) send(c cred, method, path string, hdr http.Header, body string) (int, http.Header, []byte) {
	e.t.Helper()
	ctx := e.t.Context()
	if e.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, method, e.s.URL()+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := e.client.Do(req)
	if err != nil && ctx.Err() != nil && e.t.Context().Err() == nil {
		return 0, http.Header{}, nil
	}
	if err != nil {
		e.t.Fatalf("%s %s as %s: %v", method, path, c.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusSwitchingProtocols || strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return resp.StatusCode, resp.Header, nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil && ctx.Err() != nil && e.t.Context().Err() == nil {
		return 0, resp.Header, nil
	}
	if err != nil {
		e.t.Fatalf("%s %s as %s: reading the answer: %v", method, path, c.name, err)
	}
	return resp.StatusCode, resp.Header, b
}

// wsUpgrade is the head of a WebSocket handshake.
var wsUpgrade = http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"},
	"Sec-Websocket-Version": {"13"}, "Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}}

// The content types of answers, by dialect.
const (
	ctJSON     = "application/json"
	ctJSONUTF8 = "application/json; charset=utf-8"
	ctSSE      = "text/event-stream"
)

// checkDenial checks that a refusal comes in the dialect's own shape.
func checkDenial(d string, status int, h http.Header, body []byte) error {
	ct := h.Get("Content-Type")
	var v map[string]any
	json.Unmarshal(body, &v)
	switch d {
	case "native":
		code, _ := v["error"].(map[string]any)["code"].(string)
		want := map[int]string{401: "unauthorized", 403: "forbidden"}[status]
		if !strings.HasPrefix(ct, ctJSON) || code != want {
			return fmt.Errorf("want herald's error %q as JSON, got %s %q", want, ct, body)
		}
	case "hue":
		if ct != ctJSON || status != 403 || string(body) != `{"errors":[{"description":"unauthorized user"}],"data":[]}`+"\n" {
			return fmt.Errorf("want the bridge's 403 unauthorized user, got %s %q", ct, body)
		}
	case "zulip":
		if !strings.HasPrefix(ct, ctJSON) || v["result"] != "error" || v["msg"] == "" || v["code"] == nil {
			return fmt.Errorf("want Zulip's error JSON, got %s %q", ct, body)
		}
	case "jetstream":
		if ct != ctJSONUTF8 || strings.TrimSpace(string(body)) != `{"Message":"Authorization has been denied for this request."}` {
			return fmt.Errorf("want Jetstream's denial, got %s %q", ct, body)
		}
	case "plex":
		if ct != "text/html" || !strings.Contains(string(body), "401 Unauthorized") {
			return fmt.Errorf("want Plex's 401 page, got %s %q", ct, body)
		}
	default:
		return fmt.Errorf("no denial shape for dialect %q", d)
	}
	return nil
}
