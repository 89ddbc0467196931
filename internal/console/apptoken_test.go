//go:build unix

package console_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/herald-io/herald/internal/auth/apptoken"
	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
)

// TestConsoleWithAppToken: an application's user signs in to the console
// with an app-signed token; the console names its subject, shows no admin
// panel, and tails what the token's scopes allow. An expired token is
// refused at sign-in, saying so.
func TestConsoleWithAppToken(t *testing.T) {
	const secret = "the application's secret, at least 32 bytes"
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	mint := func(sub string, exp time.Time) string {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"sub": sub, "exp": exp.Unix(), "herald": map[string]any{"subscribe": []string{"app.>"}},
		}).SignedString([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	b := startBrowser(t)
	srv := servertest.Start(t, server.Config{AppTokens: apptoken.Config{HMACSecretFile: file}})
	api := &apiClient{t: t, base: srv.URL(), key: srv.Admin}

	b.navigate(srv.URL() + "/console/")
	b.waitFor("the sign-in form", `!document.querySelector('#login').hidden`, `document.body.innerText`)
	b.run(fmt.Sprintf(`document.querySelector('#login-key').value = %q; document.querySelector('#login-form').requestSubmit()`,
		mint("zoë", time.Now().Add(-time.Minute))))
	b.waitFor("the expired token refused", `document.querySelector('#login-error').textContent.includes('expired')`, `document.querySelector('#login-error').textContent`)

	b.run(fmt.Sprintf(`document.querySelector('#login-key').value = %q; document.querySelector('#login-form').requestSubmit()`,
		mint("zoë", time.Now().Add(time.Hour))))
	b.waitFor("the console", `!document.querySelector('#app').hidden`, `document.body.innerText`)
	if got := b.text("#whoami"); got != "token zoë" {
		t.Errorf("whoami %q", got)
	}
	var adminLinks int
	b.eval(`[...document.querySelectorAll('nav a[data-admin]')].filter(a => !a.hidden).length`, &adminLinks)
	if adminLinks != 0 {
		t.Errorf("a token's console shows %d admin panels", adminLinks)
	}
	b.waitFor("the tail to be live", `document.querySelector('#tail-status').dataset.state === 'live'`, `document.querySelector('#tail-status').textContent`)
	seq := api.publish(`{"topic":"app.chat","type":"said","data":"hi"}`)
	b.waitFor("the event in the tail", fmt.Sprintf(`document.querySelector('#tail-events li[data-seq="%d"]')`, seq), `document.querySelector('#tail-status').textContent`)
	if p := b.takeProblems(); len(p) > 0 {
		t.Errorf("the page reported problems:\n%s", strings.Join(p, "\n"))
	}
}

// TestCORSInBrowser: a page of another origin reads herald's API, SSE
// included, when --cors-origins names it, and its browser refuses it the
// answer when it does not.
func TestCORSInBrowser(t *testing.T) {
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<!doctype html><title>app</title>"))
	}))
	defer page.Close()
	b := startBrowser(t)
	allowed := servertest.Start(t, server.Config{CORSOrigins: []string{page.URL}})
	other := servertest.Start(t, server.Config{CORSOrigins: []string{"https://someone-else.example"}})
	b.navigate(page.URL + "/")
	b.waitFor("the other origin's page", `document.title === 'app'`, `location.href`)
	call := func(srv *servertest.Server) string {
		t.Helper()
		var got string
		js := fmt.Sprintf(`(async () => {
			const h = { Authorization: 'Bearer %s' };
			try {
				const put = await fetch('%s/v1/subscriptions/inbox', { method: 'PUT', headers: { ...h, 'Content-Type': 'application/json' }, body: '{"topics":["app.>"]}' });
				const ctl = new AbortController();
				const sse = await fetch('%s/v1/stream?topics=app.>', { headers: { ...h, Accept: 'text/event-stream' }, signal: ctl.signal });
				ctl.abort();
				return put.status + ' ' + sse.status;
			} catch (e) {
				return 'refused: ' + e.name;
			}
		})()`, srv.Admin, srv.URL(), srv.URL())
		if err := b.eval(js, &got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := call(allowed); got != "201 200" {
		t.Errorf("allowed origin: %s", got)
	}
	if got := call(other); got != "refused: TypeError" {
		t.Errorf("origin not allowed: %s", got)
	}
	b.takeProblems() // the refused fetch is logged by the browser, as it should be
}
