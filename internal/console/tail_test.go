//go:build unix

package console_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
)

// TestConsoleDenseTail fills the live tail with 20,000 events and checks
// that it holds them all while putting only the rows in view in the page,
// that it scrolls (the frame times go to the test's log; there is no
// threshold on them, only a generous bound that it did not hang), that
// search and the type filter work over the rows held, that the keyboard
// moves through and expands rows, and that a new topic filter starts a new
// list.
func TestConsoleDenseTail(t *testing.T) {
	b := startBrowser(t)
	srv := servertest.Start(t, server.Config{})
	api := &apiClient{t: t, base: srv.URL(), key: srv.Admin}
	b.navigate(srv.URL() + "/console/#key=" + srv.Admin)
	b.waitFor("the console", `!document.querySelector('#app').hidden`, `document.body.innerText`)
	b.run(`location.hash = '#tail'`)
	status := `document.querySelector('#tail-status')`
	explain := status + `.textContent`
	b.waitFor("the tail to be live", status+`.dataset.state === 'live'`, explain)

	const total, batch = 20000, 1000
	start := time.Now()
	for i := 0; i < total; i += batch {
		evs := make([]string, batch)
		for j := range evs {
			n := i + j
			note := ""
			if n%1000 == 7 {
				note = `,"note":"needle"` // 20 of them
			}
			evs[j] = fmt.Sprintf(`{"topic":"app.bulk.%d","type":"t%d","data":{"n":%d%s}}`, n%10, n%10, n, note)
		}
		if code, out := api.do("POST", "/v1/events", srv.Admin, "["+strings.Join(evs, ",")+"]"); code != http.StatusCreated {
			t.Fatalf("publish a batch: %d %.200s", code, out)
		}
	}
	published := time.Since(start)
	b.waitForWithin(3*time.Minute, "the tail to hold 20,000 rows", status+`.dataset.held === '20000'`, explain)
	t.Logf("published %d events in %v; the page held them all %v after the first was published", total, published.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))

	// Scroll to 40 places and wait for each frame to be drawn.
	var scroll struct {
		Frames      []float64
		MaxRows     int
		ScrollRange float64
		RenderMs    float64
	}
	err := b.eval(`(async () => {
		const vp = document.querySelector('#tail-events');
		const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
		const frames = [];
		let maxRows = 0;
		for (let i = 0; i < 40; i++) {
			const t0 = performance.now();
			vp.scrollTop = ((i * 7919) % 40) / 40 * (vp.scrollHeight - vp.clientHeight);
			await frame();
			frames.push(performance.now() - t0);
			maxRows = Math.max(maxRows, vp.querySelectorAll('li').length);
		}
		const { stats } = await import('/console/js/tail.js');
		return { frames, maxRows, scrollRange: vp.scrollHeight - vp.clientHeight, renderMs: stats().lastRenderMs };
	})()`, &scroll)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(scroll.Frames)
	t.Logf("scrolling 20,000 rows: 40 jumps, two frames each: median %.1f ms, slowest %.1f ms; last render %.2f ms; at most %d rows in the page",
		scroll.Frames[len(scroll.Frames)/2], scroll.Frames[len(scroll.Frames)-1], scroll.RenderMs, scroll.MaxRows)
	if scroll.MaxRows == 0 || scroll.MaxRows > 200 {
		t.Errorf("%d rows in the page at once: want only those in view (the list is virtual)", scroll.MaxRows)
	}
	if scroll.ScrollRange < 20000*10 {
		t.Errorf("scroll range %v px: the list does not stand for 20,000 rows", scroll.ScrollRange)
	}

	// Search and type filter over the rows held.
	b.run(`const s = document.querySelector('#tail-search'); s.value = 'needle'; s.dispatchEvent(new Event('input'))`)
	// The list draws at the next frame: wait for the rows themselves.
	rendered := `[...document.querySelectorAll('#tail-events li.tail-row')]`
	b.waitFor("the search's matches", status+`.dataset.shown === '20' && `+rendered+`.length === 20`, explain)
	var data []string
	b.eval(rendered+`.map(li => li.querySelector('.data').textContent)`, &data)
	for _, d := range data {
		if !strings.Contains(d, "needle") {
			t.Errorf("a row shown for 'needle' has data %q", d)
		}
	}
	b.run(`const s = document.querySelector('#tail-search'); s.value = ''; s.dispatchEvent(new Event('input'));
		const ty = document.querySelector('#tail-type'); ty.value = 't3'; ty.dispatchEvent(new Event('change'))`)
	b.waitFor("the type filter", status+`.dataset.shown === '2000'`, explain)
	var types []string
	b.eval(`[...document.querySelector('#tail-type').options].map(o => o.value)`, &types)
	if want := []string{"", "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9"}; !slices.Equal(types, want) {
		t.Errorf("type filter offers %q, want %q", types, want)
	}
	b.run(`const ty = document.querySelector('#tail-type'); ty.value = ''; ty.dispatchEvent(new Event('change'))`)
	b.waitFor("all rows again", status+`.dataset.shown === '20000'`, explain)

	// The keyboard: the list is one tab stop; ↓ moves, Enter expands.
	b.run(`document.querySelector('#tail-events').focus()`)
	b.pressKey("ArrowDown", "ArrowDown", 40)
	b.pressKey("ArrowDown", "ArrowDown", 40)
	b.pressKey("Enter", "Enter", 13)
	b.waitFor("the third row expanded", `document.querySelector('#tail-events li.expanded')`, `document.activeElement.id`)
	var expanded struct {
		Index  string
		Detail string
		Active string
	}
	b.eval(`(() => { const li = document.querySelector('#tail-events li.expanded');
		return { index: li.dataset.index, detail: li.querySelector('.detail .data').textContent,
			active: document.querySelector('#tail-events').getAttribute('aria-activedescendant') }; })()`, &expanded)
	var third struct{ N int }
	json.Unmarshal([]byte(expanded.Detail), &third)
	if expanded.Index != "2" || third.N != total-3 || expanded.Active != "row-"+fmt.Sprint(total-2) {
		t.Errorf("expanded row %+v, want index 2: the event with n %d (seq %d)", expanded, total-3, total-2)
	}
	b.pressKey("Escape", "Escape", 27)
	b.waitFor("the row collapsed", `!document.querySelector('#tail-events li.expanded')`, `document.activeElement.id`)

	// A new topic filter starts a new list: the old filter's rows leave.
	b.run(`const f = document.querySelector('#tail-form'); f.topics.value = 'app.other'; f.requestSubmit()`)
	b.waitFor("the new list, live", status+`.dataset.state === 'live' && `+status+`.dataset.held === '0'`, explain)
	other := api.publish(`{"topic":"app.other","type":"x","data":1}`)
	api.publish(`{"topic":"app.bulk.1","type":"t1","data":1}`) // not this filter's
	b.waitFor("the new filter's event", fmt.Sprintf(`document.querySelector('#tail-events li[data-seq="%d"]')`, other), explain)
	var rows []string
	b.eval(`[...document.querySelectorAll('#tail-events li.tail-row')].map(li => li.dataset.seq)`, &rows)
	if !slices.Equal(rows, []string{fmt.Sprint(other)}) {
		t.Errorf("rows after the new filter: %v, want only %d", rows, other)
	}
	if p := b.takeProblems(); len(p) > 0 {
		t.Errorf("the page reported problems:\n%s", strings.Join(p, "\n"))
	}
}
