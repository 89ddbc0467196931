//go:build unix

package console_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
	"github.com/herald-io/herald/internal/webhook"
)

// TestConsoleDeliveryPanels opens the Routes, Webhooks, Connectors and
// Faults panels in a real Chromium against a real herald holding one of
// each: a route that copied an event is tested on it (the plan shows the
// copy) and removed; a webhook to a loopback receiver that failed until it
// was marked failing is replayed once the receiver answers, and its
// attempts show both; a Jetstream connector to an address nothing listens
// on shows its last error; a fault rule added from the form shows in the
// table and the banner (which links to the panel) and is removed, one and
// all. Then each panel is laid out at 1400 and 390 px with nothing
// outside the viewport.
//
// HERALD_CONSOLE_SCREENSHOTS=<dir> keeps the screenshots.
func TestConsoleDeliveryPanels(t *testing.T) {
	var up atomic.Bool // the receiver answers 200 once set, 500 before
	var received atomic.Int64
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.Error(w, "receiver down for maintenance", http.StatusInternalServerError)
			return
		}
		received.Add(1)
		fmt.Fprint(w, "thanks")
	}))
	defer recv.Close()

	b := startBrowser(t)
	srv := servertest.Start(t, server.Config{Webhooks: webhook.Config{
		Policy:   webhook.Policy{AllowPrivate: true}, // the receiver is on loopback
		Schedule: []time.Duration{0, 10 * time.Millisecond},
	}})
	api := &apiClient{t: t, base: srv.URL(), key: srv.Admin}
	shots := layoutDir(t)
	mustDo := api.must
	mustDo("POST", "/v1/routes", `{"name":"copy","topics":["app.in.>"],"action":{"kind":"native.publish","params":"{'topic': 'app.copy', 'data': data}"}}`, http.StatusCreated)
	var hook struct{ ID string }
	json.Unmarshal(mustDo("POST", "/v1/webhooks", fmt.Sprintf(`{"url":%q,"topics":["app.in.>"]}`, recv.URL+"/hook"), http.StatusCreated), &hook)
	mustDo("POST", "/v1/connectors", `{"name":"dock","kind":"jetstream","url":"http://127.0.0.1:1","key":"k"}`, http.StatusCreated)
	in := api.publish(`{"topic":"app.in.door","type":"opened","data":{"by":"alice"}}`)

	b.navigate(srv.URL() + "/console/#key=" + srv.Admin)
	b.waitFor("the console", `!document.querySelector('#app').hidden`, `document.body.innerText`)

	// Routes: the route copied the event; its test on it shows the copy;
	// removing it from the page removes it.
	b.run(`location.hash = '#routes'`)
	route := `#route-table tr[data-name="copy"]`
	b.waitFor("the route, having copied the event", `document.querySelector('`+route+` .done')?.textContent === '1'`,
		`document.querySelector('#route-status').textContent + ' ' + document.querySelector('#route-table').innerText`)
	b.run(`[...document.querySelectorAll('` + route + ` button')].find(b => b.textContent === 'Test…').click()`)
	b.run(fmt.Sprintf(`const f = document.querySelector('#route-test-form'); f.seq.value = '%d'; f.requestSubmit()`, in))
	b.waitFor("the route's plan", `!document.querySelector('#route-test-plan').hidden`, `document.querySelector('#route-test-status').textContent`)
	var plan struct {
		Kind  string
		Event struct{ Topic string }
	}
	if err := json.Unmarshal([]byte(b.text("#route-test-plan")), &plan); err != nil || plan.Kind != "native.publish" || plan.Event.Topic != "app.copy" {
		t.Errorf("route plan %q (%v): want native.publish to app.copy", b.text("#route-test-plan"), err)
	}
	b.checkLayout(shots, "routes-1400")
	b.run(`const d = document.querySelector('` + route + ` button.danger'); d.click(); d.click()`)
	b.waitFor("the route removed", `!document.querySelector('`+route+`') && document.querySelector('#route-test').hidden`, `document.querySelector('#route-status').textContent`)
	mustDo("GET", "/v1/routes/copy", "", http.StatusNotFound)

	// Webhooks: failing after two 500s, with both attempts logged; a
	// replay from the page, once the receiver is up, delivers.
	b.run(`location.hash = '#webhooks'`)
	wh := `#wh-table tr[data-id="` + hook.ID + `"]`
	b.waitForWithin(30*time.Second, "the webhook failing", `document.querySelector('`+wh+`.failing')`,
		`document.querySelector('#wh-status').textContent + ' ' + document.querySelector('#wh-table').innerText`)
	b.run(`[...document.querySelectorAll('` + wh + ` button')].find(b => b.textContent === 'Attempts').click()`)
	attempts := `[...document.querySelectorAll('#wh-attempts-table tbody tr[data-seq]')]`
	b.waitFor("the failed attempts", attempts+`.length === 2`, `document.querySelector('#wh-attempts-status').textContent`)
	if got := b.text("#wh-attempts-table tbody tr"); !strings.Contains(got, "500") || !strings.Contains(got, "receiver down for maintenance") {
		t.Errorf("newest attempt %q: want its status and the answer's excerpt", got)
	}
	b.checkLayout(shots, "webhooks-1400")
	up.Store(true)
	b.run(fmt.Sprintf(`const f = document.querySelector('#wh-replay'); f.after.value = '%d'; f.requestSubmit()`, in-1))
	b.waitForWithin(30*time.Second, "the replayed delivery", `!document.querySelector('`+wh+`.failing') && `+attempts+`.some(tr => tr.textContent.includes('200'))`,
		`document.querySelector('#wh-attempts-status').textContent + ' ' + document.querySelector('#wh-attempts-table').innerText`)
	if received.Load() != 1 {
		t.Errorf("the receiver got %d deliveries after the replay, want 1", received.Load())
	}

	// Connectors: the connector to a closed port says why it is not
	// connected.
	b.run(`location.hash = '#connectors'`)
	conn := `#conn-table tr[data-name="dock"]`
	b.waitForWithin(30*time.Second, "the connector's last error", `document.querySelector('`+conn+` .last-error .bad')`,
		`document.querySelector('#conn-status').textContent + ' ' + document.querySelector('#conn-table').innerText`)
	if got := b.text(conn + " .connected"); got != "no" {
		t.Errorf("connector connected %q, want no", got)
	}
	t.Logf("connector's last error: %q", b.text(conn+" .last-error"))
	b.checkLayout(shots, "connectors-1400")

	// Faults: a rule added from the form is listed and raises the banner,
	// which links here; one is removed by its button, the rest by
	// "Remove all".
	b.run(`location.hash = '#faults'`)
	b.run(`const f = document.querySelector('#fault-form'); f.dialect.value = 'zulip'; f.action.value = 'status';
		f.action.dispatchEvent(new Event('change')); f.status.value = '429'; f.retry_after.value = '2s'; f.requestSubmit()`)
	b.waitFor("the rule listed", `document.querySelectorAll('#fault-table tbody tr[data-id]').length === 1 && !document.querySelector('#faults-banner').hidden`,
		`document.querySelector('#fault-status').textContent`)
	if got := b.text("#fault-table tbody tr"); !strings.Contains(got, "429 (Retry-After 2s) on zulip") {
		t.Errorf("fault row %q: want the rule described", got)
	}
	var link string
	b.eval(`document.querySelector('#faults-banner a').getAttribute('href')`, &link)
	if link != "#faults" {
		t.Errorf("the banner links to %q, want #faults", link)
	}
	b.checkLayout(shots, "faults-panel-1400")
	b.run(`document.querySelector('#fault-table tbody tr[data-id] button.danger').click()`)
	b.waitFor("the rule removed", `!document.querySelector('#fault-table tbody tr[data-id]') && document.querySelector('#faults-banner').hidden`,
		`document.querySelector('#fault-status').textContent`)
	mustDo("POST", "/v1/faults", `{"dialect":"native","action":"cut_stream","after_events":3}`, http.StatusCreated)
	mustDo("POST", "/v1/faults", `{"action":"delay","delay":"10ms","probability":0.5}`, http.StatusCreated)
	b.waitFor("both rules listed", `document.querySelectorAll('#fault-table tbody tr[data-id]').length === 2`, `document.querySelector('#fault-status').textContent`)
	b.run(`const c = document.querySelector('#fault-clear-all'); c.click(); c.click()`)
	b.waitFor("every rule removed", `document.querySelector('#fault-status').textContent === 'Removed 2 rules.' && !document.querySelector('#fault-table tbody tr[data-id]')`,
		`document.querySelector('#fault-status').textContent`)
	if out := mustDo("GET", "/v1/faults", "", http.StatusOK); !strings.Contains(string(out), `"faults":[]`) {
		t.Errorf("faults after removing them from the page: %s", out)
	}

	// Each panel at a desktop's and a phone's width, with a rule in
	// effect so that the banner is laid out too.
	mustDo("POST", "/v1/faults", `{"dialect":"zulip","action":"status","status":503}`, http.StatusCreated)
	mustDo("POST", "/v1/routes", `{"name":"again","topics":["app.in.>"],"when":"data.by == 'alice'","action":{"kind":"native.publish","params":"{'topic': 'app.copy'}"}}`, http.StatusCreated)
	for _, width := range []int{1400, 390} {
		b.setViewport(width, 900)
		for _, p := range []string{"routes", "webhooks", "connectors", "faults"} {
			b.run(fmt.Sprintf(`location.hash = '#%s'`, p))
			b.waitFor("the "+p+" panel", fmt.Sprintf(`!document.querySelector('#panel-%s').hidden && document.querySelector('#panel-%s tbody tr')`, p, p), `location.hash`)
			time.Sleep(400 * time.Millisecond) // its first refresh
			b.checkLayout(shots, fmt.Sprintf("%s-%d", p, width))
		}
	}
	b.setDark(true)
	b.checkLayout(shots, "faults-390-dark")

	if p := b.takeProblems(); len(p) > 0 {
		t.Errorf("the page reported problems:\n%s", strings.Join(p, "\n"))
	}
}
