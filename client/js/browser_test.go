//go:build unix

package jsclient_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"testing"

	"github.com/herald-io/herald/internal/chromiumtest"
	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
)

// TestInChromium loads the module in a headless Chromium, as a page would,
// and runs it against a real herald: publish, a stream that resumes exactly
// across a restart of herald, the browser's own WebSocket, an abort, and
// errors as HeraldErrors. herald answers no cross-origin requests, so the
// page and the API share an origin: a proxy serves the module's files
// under /herald-client/ and passes everything else to herald.
func TestInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("runs chromium")
	}
	srv := servertest.Start(t, server.Config{})
	proxy := sameOrigin(t, srv.URL())
	b := chromiumtest.Start(t) // closed first: its connections end before the proxy's Close waits for them

	b.Navigate(proxy + "/blank")
	b.WaitFor("the page", `document.readyState === 'complete' && location.pathname === '/blank'`, `location.href`)
	var first struct {
		Acks, Got []uint64
		Err       []any
	}
	evalJSON(t, b, fmt.Sprintf(`(async () => {
		const { Herald, HeraldError } = await import('/herald-client/index.js');
		const h = new Herald({ key: %q }); // the page's origin
		const topic = 'app.browser.' + Math.random().toString(36).slice(2);
		const acks = await h.publish([0, 1, 2].map((n) => ({ topic, data: { n } })));
		const s = h.stream({ topics: [topic], start: acks[0].seq });
		const got = [];
		for (let i = 0; i < 3; i++) got.push((await s.next()).value.seq);
		let err;
		try { await new Herald({ key: 'hk_0123456789abcdef_wrong' }).poll({ after: 0 }); } catch (e) { err = e; }
		Object.assign(window, { h, topic, s, got });
		return JSON.stringify({ acks: acks.map((a) => a.seq), got, err: [err instanceof HeraldError, err.status, err.code] });
	})()`, srv.Admin), &first)
	if !slices.Equal(first.Got, first.Acks) || len(first.Acks) != 3 {
		t.Fatalf("stream before the restart: %v, published %v", first.Got, first.Acks)
	}
	if fmt.Sprint(first.Err) != "[true 401 unauthorized]" {
		t.Errorf("a wrong key: %v, want a HeraldError 401 unauthorized", first.Err)
	}

	// Publish right after the restart, before the stream is back: it must
	// resume after the last event it handed over, and hand over each once.
	srv.Restart()
	var second struct {
		More, Got, WS []uint64
		Aborted       bool
	}
	evalJSON(t, b, `(async () => {
		const more = await h.publish([3, 4].map((n) => ({ topic, data: { n } })));
		for (let i = 0; i < 2; i++) got.push((await s.next()).value.seq);
		s.close();
		const ws = h.websocket({ topics: [topic], start: 'earliest' });
		const seen = [];
		for (let i = 0; i < 5; i++) seen.push((await ws.next()).value.seq);
		ws.close();
		const ctrl = new AbortController();
		const a = h.stream({ topics: [topic], signal: ctrl.signal });
		const pending = a.next();
		ctrl.abort();
		return JSON.stringify({ more: more.map((x) => x.seq), got, ws: seen, aborted: (await pending).done });
	})()`, &second)
	all := append(first.Acks, second.More...)
	if !slices.Equal(second.Got, all) {
		t.Errorf("stream across the restart: %v, published %v", second.Got, all)
	}
	if !slices.Equal(second.WS, all) {
		t.Errorf("WebSocket from the earliest: %v, published %v", second.WS, all)
	}
	if !second.Aborted {
		t.Error("an aborted stream's pending next() did not end the iteration")
	}
	if p := b.TakeProblems(); len(p) > 0 {
		t.Errorf("the page reported problems: %v", p)
	}
}

// evalJSON evaluates an expression that resolves to a JSON string.
func evalJSON(t *testing.T, b *chromiumtest.Browser, expr string, out any) {
	t.Helper()
	var s string
	if err := b.Eval(expr, &s); err != nil {
		t.Fatalf("in the page: %v", err)
	}
	if err := json.Unmarshal([]byte(s), out); err != nil {
		t.Fatalf("page answered %q: %v", s, err)
	}
}

// sameOrigin serves the module's files and a blank page, and proxies the
// rest to herald; it returns its URL.
func sameOrigin(t *testing.T, herald string) string {
	target, err := url.Parse(herald)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = tr
	rp.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, _ error) {
		http.Error(w, "herald is not answering", http.StatusBadGateway) // while it restarts
	}
	mux := http.NewServeMux()
	mux.Handle("GET /herald-client/", http.StripPrefix("/herald-client/", http.FileServer(http.Dir("."))))
	mux.HandleFunc("GET /blank", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><title>herald client</title>")
	})
	mux.Handle("/", rp)
	s := httptest.NewServer(mux)
	t.Cleanup(func() {
		s.CloseClientConnections()
		s.Close()
		tr.CloseIdleConnections()
	})
	return s.URL
}
