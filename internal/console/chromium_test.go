//go:build unix

package console_test

import (
	"testing"
	"time"

	"github.com/herald-io/herald/internal/chromiumtest"
)

// browser is internal/chromiumtest's headless Chromium under the names the
// console's tests use.
type browser struct {
	*chromiumtest.Browser
	t       *testing.T
	session string
}

func startBrowser(t *testing.T) *browser {
	t.Helper()
	c := chromiumtest.Start(t)
	return &browser{Browser: c, t: t, session: c.Session}
}

func (b *browser) call(session, method string, params, out any) {
	b.t.Helper()
	b.Call(session, method, params, out)
}

func (b *browser) navigate(url string) {
	b.t.Helper()
	b.Navigate(url)
}

func (b *browser) eval(expr string, out any) error { return b.Eval(expr, out) }

func (b *browser) run(stmts string) {
	b.t.Helper()
	b.Run(stmts)
}

func (b *browser) text(selector string) string {
	b.t.Helper()
	return b.Text(selector)
}

func (b *browser) waitFor(what, cond, explain string) {
	b.t.Helper()
	b.WaitFor(what, cond, explain)
}

func (b *browser) waitForWithin(timeout time.Duration, what, cond, explain string) {
	b.t.Helper()
	b.WaitForWithin(timeout, what, cond, explain)
}

func (b *browser) screenshot(path string) {
	b.t.Helper()
	b.Screenshot(path)
}

func (b *browser) takeProblems() []string { return b.TakeProblems() }
