//go:build unix

package console_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
)

// TestConsoleInBrowser runs the console in a real headless Chromium against
// a real herald: sign in, the live tail (an event published through the
// API appears, escaped; the tail resumes exactly across a herald restart),
// publishing from the page, subscriptions, keys, the cluster view and the
// Hue link button. The page must report no exception, console error or CSP
// violation along the way.
//
// HERALD_CONSOLE_SCREENSHOTS=<dir> also saves a screenshot of each panel.
func TestConsoleInBrowser(t *testing.T) {
	b := startBrowser(t)
	srv := servertest.Start(t, server.Config{})
	api := &apiClient{t: t, base: srv.URL(), key: srv.Admin}
	shots := os.Getenv("HERALD_CONSOLE_SCREENSHOTS")
	shot := func(name string) {
		if shots != "" {
			b.screenshot(filepath.Join(shots, name+".png"))
		}
	}
	tailState := `document.querySelector('#tail-status')?.dataset.state + ': ' + document.querySelector('#tail-status')?.textContent`

	// The tail reads its stream with the JavaScript client, served below
	// the console: its SSE parser, as the page imports it, fed one
	// character at a time: frames split anywhere (even inside a CRLF)
	// still parse, comments are skipped, multi-line data joins.
	b.navigate(srv.URL() + "/console/")
	var parsed string
	err := b.eval(`import('/console/lib/herald/index.js').then(({ SSEParser }) => {
		const p = new SSEParser();
		const out = [];
		for (const c of 'retry: 2000\n\n: keep-alive\n\nid: 7\nevent: opened\ndata: {"a":\ndata:1}\r\n\r\nevent: reset\ndata: {}\n\ndata: x\r\ndata: y\n\n') out.push(...p.push(c));
		return JSON.stringify(out);
	})`, &parsed)
	if want := `[{"event":"opened","data":"{\"a\":\n1}","id":"7"},{"event":"reset","data":"{}"},{"event":"message","data":"x\ny"}]`; err != nil || parsed != want {
		t.Errorf("SSE parser: %s, %v\nwant %s", parsed, err, want)
	}

	// Sign in: a wrong key is refused, the admin key is kept in
	// sessionStorage only.
	b.navigate(srv.URL() + "/console")
	b.waitFor("the sign-in form", `!document.querySelector('#login').hidden`, `document.body.innerText`)
	shot("login")
	// The hint names the admin key where this server keeps it.
	b.waitFor("the admin key's path in the hint", fmt.Sprintf(`document.querySelector('#login-key-path').textContent === %q`,
		filepath.Join(srv.Cfg.DataDir, "admin.key")), `document.querySelector('#login-key-path').textContent`)
	b.run(`document.querySelector('#login-key').value = 'hk_0123456789abcdef_wrong'; document.querySelector('#login-form').requestSubmit()`)
	b.waitFor("the wrong key refused", `document.querySelector('#login-error').textContent.includes('not valid')`, `document.querySelector('#login-error').textContent`)
	b.run(fmt.Sprintf(`document.querySelector('#login-key').value = %q; document.querySelector('#login-form').requestSubmit()`, srv.Admin))
	b.waitFor("the console", `!document.querySelector('#app').hidden`, `document.body.innerText`)
	var stored struct {
		Session, Local, Cookie string
	}
	b.eval(`({session: sessionStorage.getItem('herald.key'), local: JSON.stringify(localStorage), cookie: document.cookie})`, &stored)
	if stored.Session != srv.Admin || stored.Local != "{}" || stored.Cookie != "" {
		t.Fatalf("key storage: sessionStorage %q, localStorage %s, cookie %q; want the key in sessionStorage only", stored.Session, stored.Local, stored.Cookie)
	}

	// An admin's console opens on the overview.
	b.waitFor("the overview", `!document.querySelector('#panel-overview').hidden`, `location.hash`)

	// Live tail: an event published through the API shows up, its data as
	// text (markup in it is not interpreted), one line that expands.
	b.run(`location.hash = '#tail'`)
	b.waitFor("the tail to be live", `document.querySelector('#tail-status').dataset.state === 'live'`, tailState)
	hostile := `<img src=x id=pwned onerror="document.title='pwned'">`
	first := api.publish(`{"topic":"app.door.front","type":"opened","data":{"by":"alice","note":` + strconv.Quote(hostile) + `}}`)
	row := fmt.Sprintf(`#tail-events li[data-seq="%d"]`, first)
	b.waitFor("the published event in the tail", `document.querySelector('`+row+`')`, tailState)
	if got := b.text(row + " .topic"); got != "app.door.front" {
		t.Errorf("tail row topic %q", got)
	}
	if got := b.text(row + " .type"); got != "opened" {
		t.Errorf("tail row type %q", got)
	}
	if got := b.text(row + " .line .data"); !strings.Contains(got, `{"by":"alice"`) || !strings.Contains(got, `<img src=x id=pwned onerror=`) {
		t.Errorf("tail row data %q: want the JSON on one line, with the markup as text", got)
	}
	b.run(`document.querySelector('` + row + ` .line').click()`)
	b.waitFor("the row expanded", `document.querySelector('`+row+` .detail')`, `document.querySelector('#tail-events').innerText`)
	if got := b.text(row + " .detail .data"); !strings.Contains(got, `"by": "alice"`) || !strings.Contains(got, `<img src=x id=pwned onerror=`) {
		t.Errorf("expanded row data %q: want the pretty JSON with the markup as text", got)
	}
	var injected bool
	b.eval(`document.querySelector('#pwned') !== null || document.title === 'pwned'`, &injected)
	if injected {
		t.Fatal("event data was interpreted as HTML")
	}
	shot("tail")

	// Restart herald and publish before the page reconnects: the tail
	// must resume after the last event it showed — from "now" it would
	// miss this one — and show nothing twice.
	srv.Restart()
	api.base = srv.URL()
	second := api.publish(`{"topic":"app.door.back","type":"opened","data":{"n":2}}`)
	b.waitFor("the event published during the reconnect", fmt.Sprintf(`document.querySelector('#tail-events li[data-seq="%d"]')`, second), tailState)
	b.waitFor("the tail to be live again", `document.querySelector('#tail-status').dataset.state === 'live'`, tailState)
	var seqs []string
	b.eval(`[...document.querySelectorAll('#tail-events li.tail-row')].map(li => li.dataset.seq)`, &seqs)
	if want := []string{strconv.FormatUint(second, 10), strconv.FormatUint(first, 10)}; strings.Join(seqs, ",") != strings.Join(want, ",") {
		t.Fatalf("tail rows after the restart: %v, want %v (newest first, each once)", seqs, want)
	}

	// Pause, publish, resume: the tail continues exactly after where it
	// paused.
	b.run(`document.querySelector('#tail-pause').click()`)
	b.waitFor("the tail paused", `document.querySelector('#tail-status').dataset.state === 'paused'`, tailState)
	third := api.publish(`{"topic":"app.window","data":3}`)
	b.run(`document.querySelector('#tail-pause').click()`)
	b.waitFor("the event published while paused", fmt.Sprintf(`document.querySelector('#tail-events li[data-seq="%d"]')`, third), tailState)

	// Publish from the page: invalid JSON is refused before sending; the
	// acknowledgement shows the seq the API stored it at.
	b.navigate(srv.URL() + "/console/#publish")
	b.waitFor("the publish panel", `!document.querySelector('#panel-publish').hidden`, `location.hash`)
	b.run(`const f = document.querySelector('#publish-form'); f.topic.value = 'app.console.test'; f.type.value = 'greeting';
		f.data.value = '{"hello": '; f.data.dispatchEvent(new Event('input'))`)
	var disabled bool
	b.eval(`document.querySelector('#publish-form button[type=submit]').disabled`, &disabled)
	if !disabled || !strings.Contains(b.text("#pub-check"), "not valid JSON") {
		t.Errorf("invalid JSON: submit disabled %v, message %q", disabled, b.text("#pub-check"))
	}
	b.run(`const f = document.querySelector('#publish-form'); f.data.value = '{"hello": "world", "big": 12345678901234567890}';
		f.data.dispatchEvent(new Event('input')); f.requestSubmit()`)
	b.waitFor("the publish acknowledgement", `document.querySelector('#pub-seq')`, `document.querySelector('#pub-result').textContent`)
	pubSeq, _ := strconv.ParseUint(b.text("#pub-seq"), 10, 64)
	ev := api.event(pubSeq)
	if ev.Topic != "app.console.test" || ev.Type != "greeting" || string(ev.Data) != `{"hello":"world","big":12345678901234567890}` {
		t.Errorf("event %d as stored: %+v %s", pubSeq, ev, ev.Data)
	}
	shot("publish")

	// Subscriptions: create one from the start of the log, fetch a batch,
	// acknowledge it.
	b.navigate(srv.URL() + "/console/#subscriptions")
	b.run(`const f = document.querySelector('#sub-form'); f.name.value = 'billing'; f.topics.value = 'app.door.>';
		f.start.value = 'earliest'; f.requestSubmit()`)
	b.waitFor("the new subscription", `document.querySelector('#sub-table tr[data-name="billing"]')`, `document.querySelector('#sub-status').textContent`)
	b.run(`document.querySelector('#sub-table tr[data-name="billing"] button').click()`)
	b.waitFor("the fetched batch", `document.querySelectorAll('#sub-fetch-events li').length === 2 && !document.querySelector('#sub-ack').disabled`,
		`document.querySelector('#sub-fetch-status').textContent`)
	shot("subscriptions")
	b.run(`document.querySelector('#sub-ack').click()`)
	b.waitFor("the acknowledgement", `document.querySelector('#sub-fetch-status').textContent.startsWith('Acknowledged')`, `document.querySelector('#sub-fetch-status').textContent`)
	if s := api.subscription("billing"); s.Position != second || s.Pending != 0 || s.Batch != nil {
		t.Errorf("billing after the ack: %+v, want position %d, nothing pending", s, second)
	}

	// Keys: create one (its token is shown once and works), then revoke it.
	b.navigate(srv.URL() + "/console/#keys")
	b.run(`const f = document.querySelector('#key-form'); f.name.value = 'dashboard'; f.subscribe.value = 'app.>';
		f.rate.value = '5'; f.requestSubmit()`)
	b.waitFor("the new key's token", `!document.querySelector('#key-token').hidden`, `document.querySelector('#key-status').textContent`)
	token := b.text("#key-token-value")
	if !regexp.MustCompile(`^hk_[0-9a-f]{16}_\S+$`).MatchString(token) {
		t.Fatalf("token shown: %q", token)
	}
	if code := api.status("GET", "/v1/subscriptions", token); code != http.StatusOK {
		t.Fatalf("the new key: GET /v1/subscriptions %d", code)
	}
	id := token[3:19]
	b.waitFor("the new key listed", `document.querySelector('#key-table tr[data-id="`+id+`"]')`, `document.querySelector('#key-status').textContent`)
	shot("keys")
	b.run(`document.querySelector('#key-token-done').click()`)
	b.run(`const btn = document.querySelector('#key-table tr[data-id="` + id + `"] button.danger'); btn.click(); btn.click()`)
	b.waitFor("the key revoked", `!document.querySelector('#key-table tr[data-id="`+id+`"]')`, `document.querySelector('#key-status').textContent`)
	if code := api.status("GET", "/v1/subscriptions", token); code != http.StatusUnauthorized {
		t.Errorf("the revoked key: GET /v1/subscriptions %d, want 401", code)
	}

	// Cluster: this node, ready, auto-refreshed.
	b.navigate(srv.URL() + "/console/#cluster")
	b.waitFor("the cluster view", `document.querySelector('#cl-nodes tbody tr.self') && document.querySelector('#cl-ready').textContent === 'ready'`,
		`document.querySelector('#cluster-status').textContent`)
	shot("cluster")

	// The Hue link button.
	b.navigate(srv.URL() + "/console/#hue")
	b.waitFor("the Hue panel", `!document.querySelector('#panel-hue').hidden`, `location.hash`)
	b.run(`document.querySelector('#hue-press').click()`)
	b.waitFor("the pairing window open", `document.querySelector('#hue-status').dataset.state === 'open'`, `document.querySelector('#hue-status').textContent`)
	shot("hue")

	// A key that is not an admin sees no admin panels; signing out forgets it.
	reader := api.createKey(`{"name":"reader","subscribe":["app.>"]}`)
	b.run(`document.querySelector('#logout').click()`)
	b.waitFor("the sign-in form after signing out", `!document.querySelector('#login').hidden && sessionStorage.length === 0`, `document.body.innerText`)
	b.navigate(srv.URL() + "/console/#key=" + reader)
	b.waitFor("the console for a reader", `!document.querySelector('#app').hidden`, `document.body.innerText`)
	var adminLinks int
	b.eval(`[...document.querySelectorAll('nav [data-admin]')].filter(a => !a.hidden).length`, &adminLinks)
	if adminLinks != 0 {
		t.Errorf("a reader's console shows %d admin panels", adminLinks)
	}
	var hash string
	b.eval(`location.hash`, &hash)
	if strings.Contains(hash, "key=") {
		t.Errorf("the key stayed in the address bar: %q", hash)
	}
	b.waitFor("the reader's tail to be live", `document.querySelector('#tail-status').dataset.state === 'live'`, tailState)

	if shots != "" {
		b.call(b.session, "Emulation.setEmulatedMedia", map[string]any{
			"features": []map[string]string{{"name": "prefers-color-scheme", "value": "dark"}},
		}, nil)
		shot("tail-dark")
	}

	if p := b.takeProblems(); len(p) > 0 {
		t.Errorf("the page reported problems:\n%s", strings.Join(p, "\n"))
	}
}

// apiClient calls herald's native API from the test.
type apiClient struct {
	t    *testing.T
	base string
	key  string
}

func (c *apiClient) do(method, path, key, body string) (int, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// must calls the API with the test's key and fails the test unless it
// answers want.
func (c *apiClient) must(method, path, body string, want int) []byte {
	c.t.Helper()
	code, out := c.do(method, path, c.key, body)
	if code != want {
		c.t.Fatalf("%s %s: %d %s", method, path, code, out)
	}
	return out
}

func (c *apiClient) status(method, path, key string) int {
	c.t.Helper()
	code, _ := c.do(method, path, key, "")
	return code
}

func (c *apiClient) publish(event string) uint64 {
	c.t.Helper()
	code, b := c.do("POST", "/v1/events", c.key, event)
	var res struct{ Events []struct{ Seq uint64 } }
	if code != http.StatusCreated || json.Unmarshal(b, &res) != nil || len(res.Events) != 1 {
		c.t.Fatalf("publish: %d %s", code, b)
	}
	return res.Events[0].Seq
}

type event struct {
	Seq   uint64
	Topic string
	Type  string
	Data  json.RawMessage
}

func (c *apiClient) event(seq uint64) event {
	c.t.Helper()
	code, b := c.do("GET", fmt.Sprintf("/v1/events?after=%d&limit=1", seq-1), c.key, "")
	var res struct{ Events []event }
	if code != http.StatusOK || json.Unmarshal(b, &res) != nil || len(res.Events) != 1 || res.Events[0].Seq != seq {
		c.t.Fatalf("read event %d: %d %s", seq, code, b)
	}
	return res.Events[0]
}

type subscription struct {
	Position uint64
	Pending  int
	Batch    *string
}

func (c *apiClient) subscription(name string) subscription {
	c.t.Helper()
	code, b := c.do("GET", "/v1/subscriptions/"+name, c.key, "")
	var s subscription
	if code != http.StatusOK || json.Unmarshal(b, &s) != nil {
		c.t.Fatalf("subscription %s: %d %s", name, code, b)
	}
	return s
}

func (c *apiClient) createKey(spec string) string {
	c.t.Helper()
	code, b := c.do("POST", "/v1/keys", c.key, spec)
	var k struct{ Token string }
	if code != http.StatusCreated || json.Unmarshal(b, &k) != nil {
		c.t.Fatalf("create key: %d %s", code, b)
	}
	return k.Token
}
