//go:build unix

package console_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
)

// TestConsolePanels opens every panel of an admin's console in a real
// Chromium against a real herald with a device, user or token of each
// dialect: the overview's charts move when events are published and are
// full again right after a reload; the Hue bridge's buttons, sensors and
// dial call the simulators; Zulip lists users and queues; Jetstream counts
// a user's pending reads after a simulated one; Plex makes a token and
// simulates a scan; keys show their last use; an active fault rule shows a
// banner until it is removed; and the header badge turns red while herald
// is down and green once it answers again. Then every panel is laid out at
// 1400 and 390 px with nothing outside the viewport, light and dark.
//
// HERALD_CONSOLE_SCREENSHOTS=<dir> keeps the screenshots.
func TestConsolePanels(t *testing.T) {
	b := startBrowser(t)
	srv := servertest.Start(t, server.Config{StatsEvery: 200 * time.Millisecond})
	api := &apiClient{t: t, base: srv.URL(), key: srv.Admin}
	shots := layoutDir(t)
	mustDo := api.must
	for _, d := range [][2]string{{"dimmer_switch", "Hall"}, {"motion_sensor", "Porch"}, {"tap_dial", "Dial"}, {"color_lamp", "Desk"}} {
		mustDo("POST", "/v1/hue/devices", fmt.Sprintf(`{"product":%q,"name":%q}`, d[0], d[1]), http.StatusCreated)
	}
	var zu struct {
		Email  string `json:"email"`
		APIKey string `json:"api_key"`
	}
	json.Unmarshal(mustDo("POST", "/v1/zulip/users", `{"email":"bot@example.com","full_name":"Bot"}`, http.StatusCreated), &zu)
	mustDo("POST", "/v1/zulip/streams", `{"name":"general","description":"talk"}`, http.StatusCreated)
	queue := zulipRegister(t, srv.URL(), zu.Email, zu.APIKey)
	var ju struct {
		ID        string `json:"id"`
		AccessKey string `json:"access_key"`
	}
	json.Unmarshal(mustDo("POST", "/v1/jetstream/users", `{"name":"dock","devices":["reader-1"]}`, http.StatusCreated), &ju)
	jetstreamPoll(t, srv.URL(), ju.AccessKey) // its first Get Events makes its subscription

	b.navigate(srv.URL() + "/console/#key=" + srv.Admin)
	b.waitFor("the overview", `!document.querySelector('#app').hidden && !document.querySelector('#panel-overview').hidden`, `document.body.innerText`)

	// Overview: the appended chart moves when events are published.
	chart := func(id, attr string) string {
		return fmt.Sprintf(`Number(document.querySelector('#chart-%s')?.dataset.%s ?? 0)`, id, attr)
	}
	b.waitFor("the charts' first samples", chart("appended", "samples")+` > 0`, `document.querySelector('#ov-status').textContent`)
	var before float64
	b.eval(chart("appended", "sum"), &before)
	for i := range 20 {
		api.publish(fmt.Sprintf(`{"topic":"app.chart","type":"tick","data":%d}`, i))
	}
	// Nothing else appends meanwhile: the chart's rates add up to more
	// only because of these events.
	b.waitFor("the appended chart to move", chart("appended", "sum")+fmt.Sprintf(` > %v`, before),
		`document.querySelector('#ov-status').textContent + ' sum ' + `+chart("appended", "sum"))
	var held, after float64
	b.eval(chart("appended", "samples"), &held)
	b.eval(chart("appended", "sum"), &after)
	// A reload: the node kept the samples, so the chart is as full at once.
	b.run(`location.reload()`)
	b.waitFor("the charts after a reload", chart("appended", "samples")+fmt.Sprintf(` >= %v && %s >= %v`, held, chart("appended", "sum"), after),
		`document.querySelector('#ov-status').textContent`)
	t.Logf("overview: %v samples before the reload; the appended chart's rates summed %.1f before publishing, %.1f after", held, before, after)

	// Hue: press a button, report motion, turn the dial, add a device.
	b.run(`location.hash = '#hue'`)
	hall := `#hue-devices .device[data-device="Hall"]`
	b.waitFor("the Hue devices", `document.querySelector('`+hall+`') && document.querySelector('#hue-devices .device[data-device="Dial"]')`,
		`document.querySelector('#hue-devices-status').textContent`)
	b.run(`document.querySelector('` + hall + ` [data-button="1"] button').click()`)
	b.waitFor("the press in the button's state", `document.querySelector('`+hall+` [data-button="1"] .value').textContent.includes('short_release')`,
		`document.querySelector('#hue-devices-status').textContent`)
	b.run(`[...document.querySelectorAll('#hue-devices .device[data-device="Porch"] button')].find(b => b.textContent === 'Motion').click()`)
	b.waitFor("the motion reading", `[...document.querySelectorAll('#hue-devices .device[data-device="Porch"] .value')].some(v => v.textContent === 'motion')`,
		`document.querySelector('#hue-devices-status').textContent`)
	b.run(`[...document.querySelectorAll('#hue-devices .device[data-device="Dial"] button')].find(b => b.textContent === '↻ 30').click()`)
	b.waitFor("the dial's turn", `document.querySelector('#hue-devices-status').textContent.startsWith('Turn Dial right: done')`,
		`document.querySelector('#hue-devices-status').textContent`)
	b.run(`const f = document.querySelector('#hue-add'); f.product.value = 'smart_button'; f.name.value = 'Door'; f.requestSubmit()`)
	b.waitFor("the added device", `document.querySelector('#hue-devices .device[data-device="Door"]')`, `document.querySelector('#hue-devices-status').textContent`)
	b.run(`document.querySelector('#hue-press').click()`)
	b.waitFor("the pairing window open", `document.querySelector('#hue-status').dataset.state === 'open'`, `document.querySelector('#hue-status').textContent`)

	// Zulip: the user, the stream and the queue the client registered.
	b.run(`location.hash = '#zulip'`)
	b.waitFor("the Zulip user and queue", `document.querySelector('#zulip-users tr[data-email="bot@example.com"]') && document.querySelector('#zulip-queues tr[data-queue="`+queue+`"]')`,
		`document.querySelector('#zulip-status').textContent`)
	if got := b.text(`#zulip-queues tr[data-queue="` + queue + `"]`); !strings.Contains(got, "bot@example.com") || !strings.Contains(got, "message") {
		t.Errorf("queue row %q: want its user and event types", got)
	}
	b.run(`const f = document.querySelector('#zulip-user-form'); f.email.value = 'alice@example.com'; f.full_name.value = 'Alice'; f.requestSubmit()`)
	b.waitFor("the new user's API key", `!document.querySelector('#zulip-secret').hidden && document.querySelector('#zulip-users tr[data-email="alice@example.com"]')`,
		`document.querySelector('#zulip-status').textContent`)

	// Jetstream: a simulated heartbeat at the user's reader is pending.
	b.run(`location.hash = '#jetstream'`)
	dock := `#js-users tr[data-id="` + ju.ID + `"]`
	b.waitFor("the Jetstream user", `document.querySelector('`+dock+` .pending')?.textContent === '0'`, `document.querySelector('#js-status').textContent`)
	b.run(`document.querySelector('#js-simulate button[data-read="heartbeat"]').click()`)
	b.waitFor("the heartbeat pending", `document.querySelector('`+dock+` .pending')?.textContent === '1'`, `document.querySelector('#js-status').textContent`)

	// Plex: a token made from the page, listed; a scan simulated.
	b.run(`location.hash = '#plex'`)
	b.run(`const f = document.querySelector('#plex-token-form'); f.name.value = 'tautulli'; f.requestSubmit()`)
	b.waitFor("the new token", `!document.querySelector('#plex-secret').hidden && [...document.querySelectorAll('#plex-tokens td')].some(td => td.textContent === 'tautulli')`,
		`document.querySelector('#plex-status').textContent`)
	b.run(`document.querySelector('#plex-scan').requestSubmit()`)
	b.waitFor("the simulated scan", `document.querySelector('#plex-status').textContent.startsWith('Library scan simulated')`, `document.querySelector('#plex-status').textContent`)

	// Keys: the admin key has been used (this console), a new one not.
	b.run(`location.hash = '#keys'`)
	adminRow := `#key-table tr[data-id="` + srv.Admin[3:19] + `"]`
	b.waitFor("the admin key's last use", `document.querySelector('`+adminRow+` td:nth-child(9) time')`, `document.querySelector('#key-status').textContent`)

	// A fault rule in effect shows the banner on every panel until removed.
	mustDo("POST", "/v1/faults", `{"dialect":"zulip","action":"status","status":503}`, http.StatusCreated)
	b.waitForWithin(30*time.Second, "the fault banner", `!document.querySelector('#faults-banner').hidden`, `document.querySelector('#faults-banner').dataset.count`)
	if got := b.text("#faults-text"); !strings.Contains(got, "503 (Retry-After 1s) on zulip") {
		t.Errorf("fault banner %q: want the rule described", got)
	}
	b.checkLayout(shots, "faults-1400")
	b.run(`const c = document.querySelector('#faults-clear'); c.click(); c.click()`)
	b.waitFor("the banner gone", `document.querySelector('#faults-banner').hidden`, `document.querySelector('#faults-text').textContent`)
	if out := mustDo("GET", "/v1/faults", "", http.StatusOK); !strings.Contains(string(out), `"faults":[]`) {
		t.Errorf("faults after removing them from the page: %s", out)
	}

	// The badge: red while herald is down, green once it answers again.
	b.run(`location.hash = '#tail'`)
	b.waitFor("the badge green", `document.querySelector('#ready').dataset.state === 'ready'`, `document.querySelector('#ready').title`)
	srv.Stop()
	b.waitFor("the badge red while herald is down", `document.querySelector('#ready').dataset.state === 'down'`, `document.querySelector('#ready').title`)
	b.checkLayout(shots, "down-390-before") // still laid out at the default width
	srv.Start()
	b.waitFor("the badge green again", `document.querySelector('#ready').dataset.state === 'ready'`, `document.querySelector('#ready').title`)
	b.waitFor("the tail live again", `document.querySelector('#tail-status').dataset.state === 'live'`, `document.querySelector('#tail-status').textContent`)

	// Every panel at a desktop's and a phone's width, light and dark.
	api.publish(`{"topic":"app.door.front","type":"opened","data":{"by":"alice","note":"a long note to fill the line of a narrow screen"}}`)
	panels := []string{"overview", "tail", "publish", "subscriptions", "keys", "cluster", "hue", "zulip", "jetstream", "plex"}
	for _, width := range []int{1400, 390} {
		b.setViewport(width, 900)
		for _, p := range panels {
			b.run(fmt.Sprintf(`location.hash = '#%s'`, p))
			b.waitFor("the "+p+" panel", fmt.Sprintf(`!document.querySelector('#panel-%s').hidden`, p), `location.hash`)
			time.Sleep(400 * time.Millisecond) // its first refresh
			b.checkLayout(shots, fmt.Sprintf("%s-%d", p, width))
		}
	}
	b.setDark(true)
	for _, p := range []string{"overview", "tail", "hue"} {
		b.run(fmt.Sprintf(`location.hash = '#%s'`, p))
		time.Sleep(400 * time.Millisecond)
		b.checkLayout(shots, p+"-390-dark")
	}
	b.setViewport(1400, 900)
	b.checkLayout(shots, "hue-1400-dark")
	b.run(`location.hash = '#overview'`)
	time.Sleep(400 * time.Millisecond)
	b.checkLayout(shots, "overview-1400-dark")

	if p := b.takeProblems(); len(p) > 0 {
		t.Errorf("the page reported problems:\n%s", strings.Join(p, "\n"))
	}
}

// zulipRegister registers an event queue as a Zulip client does and
// returns its id.
func zulipRegister(t *testing.T, base, email, key string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/api/v1/register", strings.NewReader(url.Values{"event_types": {`["message"]`}}.Encode()))
	req.SetBasicAuth(email, key)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		QueueID string `json:"queue_id"`
	}
	if json.NewDecoder(res.Body).Decode(&out); res.StatusCode != 200 || out.QueueID == "" {
		t.Fatalf("register: %d %+v", res.StatusCode, out)
	}
	return out.QueueID
}

// jetstreamPoll makes a Jetstream user's Get Events request.
func jetstreamPoll(t *testing.T, base, accessKey string) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/3/events", nil)
	req.Header.Set("AccessKey", accessKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET /3/events: %d", res.StatusCode)
	}
}
