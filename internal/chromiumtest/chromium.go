//go:build unix

// Package chromiumtest drives a headless Chromium over the DevTools protocol
// (JSON messages on a WebSocket) for the tests that run herald's JavaScript
// in a real browser: just the few commands they need.
package chromiumtest

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Find returns the browser to run: $HERALD_CHROMIUM, or chromium on
// the PATH (Debian's package, which `make deps` installs). Without one the
// test is skipped on a developer's machine but fails in CI, where a browser
// test that silently did not run would hide a broken page.
func Find(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("HERALD_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium found (chromium, chromium-browser, google-chrome or $HERALD_CHROMIUM): `make deps` installs Debian's chromium package"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg + "; skipped outside CI")
	return ""
}

// Browser is a running headless Chromium and one page in it.
type Browser struct {
	t       testing.TB
	cmd     *exec.Cmd
	ws      *websocket.Conn
	Session string // the page's DevTools session, for Call
	readerW sync.WaitGroup
	stderrW sync.WaitGroup

	mu       sync.Mutex
	nextID   int64
	pending  map[int64]chan cdpMessage
	problems []string // console errors, exceptions, CSP violations
	closed   bool
}

type cdpMessage struct {
	ID        int64           `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *cdpError       `json:"error,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
}

type cdpError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

var devtoolsURL = regexp.MustCompile(`DevTools listening on (ws://\S+)`)

// Start starts Chromium with a fresh profile, opens one page and
// stops it all when the test ends.
func Start(t testing.TB) *Browser {
	t.Helper()
	path := Find(t)
	cmd := exec.Command(path,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--no-default-browser-check", "--disable-extensions",
		"--disable-background-networking", "--disable-sync", "--disable-component-update",
		"--mute-audio", "--hide-scrollbars", "--window-size=1280,860",
		"--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
		"--user-data-dir="+t.TempDir(), "about:blank")
	// Its own process group, so that the renderer and helper processes go
	// with it at the end.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	b := &Browser{t: t, cmd: cmd, pending: map[int64]chan cdpMessage{}}
	t.Cleanup(b.Close)

	found := make(chan string, 1)
	var lastLines []string
	b.stderrW.Add(1)
	go func() {
		defer b.stderrW.Done()
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := devtoolsURL.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
			lastLines = append(lastLines[max(0, len(lastLines)-9):], sc.Text())
		}
		close(found)
		io.Copy(io.Discard, stderr) // until the browser exits
	}()
	var wsURL string
	select {
	case wsURL = <-found:
	case <-time.After(30 * time.Second):
	}
	if wsURL == "" {
		b.Close()
		t.Fatalf("chromium did not report its DevTools address; its last output:\n%s", strings.Join(lastLines, "\n"))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b.ws, _, err = websocket.Dial(ctx, wsURL, nil)
	if err != nil {
		t.Fatalf("connect to DevTools: %v", err)
	}
	b.ws.SetReadLimit(64 << 20) // screenshots
	b.readerW.Add(1)
	go b.read()

	var target struct{ TargetID string }
	b.Call("", "Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	var attached struct{ SessionID string }
	b.Call("", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached)
	b.Session = attached.SessionID
	for _, domain := range []string{"Runtime.enable", "Log.enable", "Page.enable"} {
		b.Call(b.Session, domain, nil, nil)
	}
	return b
}

// read dispatches answers to their callers and records what the page
// reports as going wrong.
func (b *Browser) read() {
	defer b.readerW.Done()
	for {
		_, data, err := b.ws.Read(context.Background())
		if err != nil {
			b.mu.Lock()
			for id, ch := range b.pending {
				close(ch)
				delete(b.pending, id)
			}
			b.closed = true
			b.mu.Unlock()
			return
		}
		var m cdpMessage
		if json.Unmarshal(data, &m) != nil {
			continue
		}
		b.mu.Lock()
		if m.ID != 0 {
			if ch := b.pending[m.ID]; ch != nil {
				ch <- m
				delete(b.pending, m.ID)
			}
		} else if p := problem(m); p != "" {
			b.problems = append(b.problems, p)
		}
		b.mu.Unlock()
	}
}

// problem describes an event that means the page misbehaved: an uncaught
// exception, a console.error, or a browser error such as a CSP violation.
func problem(m cdpMessage) string {
	switch m.Method {
	case "Runtime.exceptionThrown":
		var p struct {
			ExceptionDetails struct {
				Text      string
				URL       string
				Exception struct{ Description string }
			}
		}
		json.Unmarshal(m.Params, &p)
		d := p.ExceptionDetails
		return fmt.Sprintf("exception %s %s %s", d.Text, d.Exception.Description, d.URL)
	case "Runtime.consoleAPICalled":
		var p struct {
			Type string
			Args []struct {
				Value       any
				Description string
			}
		}
		json.Unmarshal(m.Params, &p)
		if p.Type != "error" {
			return ""
		}
		return fmt.Sprintf("console.error %+v", p.Args)
	case "Log.entryAdded":
		var p struct {
			Entry struct{ Level, Source, Text, URL string }
		}
		json.Unmarshal(m.Params, &p)
		if p.Entry.Level != "error" {
			return ""
		}
		// The page's own failed requests (a 401 for a wrong key, a
		// refused connection while herald restarts) are expected; what
		// the browser blocks or cannot run is not.
		if p.Entry.Source == "network" {
			return ""
		}
		return fmt.Sprintf("%s %s: %s %s", p.Entry.Level, p.Entry.Source, p.Entry.Text, p.Entry.URL)
	}
	return ""
}

// Call sends a command and decodes its result into out (if not nil).
func (b *Browser) Call(session, method string, params, out any) {
	b.t.Helper()
	if err := b.TryCall(session, method, params, out); err != nil {
		b.t.Fatalf("%s: %v", method, err)
	}
}

// TryCall is Call returning the error instead of failing the test.
func (b *Browser) TryCall(session, method string, params, out any) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return errors.New("DevTools connection closed")
	}
	b.nextID++
	id := b.nextID
	ch := make(chan cdpMessage, 1)
	b.pending[id] = ch
	b.mu.Unlock()
	msg, _ := json.Marshal(struct {
		ID        int64  `json:"id"`
		Method    string `json:"method"`
		Params    any    `json:"params,omitempty"`
		SessionID string `json:"sessionId,omitempty"`
	}{id, method, params, session})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.ws.Write(ctx, websocket.MessageText, msg); err != nil {
		return err
	}
	select {
	case m, ok := <-ch:
		if !ok {
			return errors.New("DevTools connection closed")
		}
		if m.Error != nil {
			return fmt.Errorf("%d %s", m.Error.Code, m.Error.Message)
		}
		if out != nil {
			return json.Unmarshal(m.Result, out)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("no answer: %w", ctx.Err())
	}
}

// Navigate loads url in the page.
func (b *Browser) Navigate(url string) {
	b.t.Helper()
	b.Call(b.Session, "Page.navigate", map[string]any{"url": url}, nil)
}

// Eval evaluates a JavaScript expression in the page (awaiting a promise)
// and decodes its JSON value into out.
func (b *Browser) Eval(expr string, out any) error {
	var res struct {
		Result struct {
			Value json.RawMessage
		}
		ExceptionDetails *struct {
			Text      string
			Exception struct{ Description string }
		}
	}
	err := b.TryCall(b.Session, "Runtime.evaluate", map[string]any{
		"expression": expr, "awaitPromise": true, "returnByValue": true,
	}, &res)
	if err != nil {
		return err
	}
	if d := res.ExceptionDetails; d != nil {
		return fmt.Errorf("%s %s", d.Text, d.Exception.Description)
	}
	if out == nil || res.Result.Value == nil {
		return nil
	}
	return json.Unmarshal(res.Result.Value, out)
}

// Run evaluates statements in a block of their own (so each call may
// declare its own consts) and fails the test if they throw.
func (b *Browser) Run(stmts string) {
	b.t.Helper()
	if err := b.Eval("{"+stmts+"\n}", nil); err != nil {
		b.t.Fatalf("%s: %v", stmts, err)
	}
}

// Text returns the textContent of the element selector matches ("" if none).
func (b *Browser) Text(selector string) string {
	b.t.Helper()
	var s string
	if err := b.Eval(fmt.Sprintf(`document.querySelector(%q)?.textContent ?? ""`, selector), &s); err != nil {
		b.t.Fatalf("text of %s: %v", selector, err)
	}
	return s
}

// WaitFor polls a JavaScript condition until it is true; on timeout it
// fails with what `explain` (an expression) says about the page.
func (b *Browser) WaitFor(what, cond, explain string) {
	b.t.Helper()
	b.WaitForWithin(20*time.Second, what, cond, explain)
}

// WaitForWithin is WaitFor with its own timeout, for what takes long on a
// loaded machine (not a measure of speed: a "did not hang" bound).
func (b *Browser) WaitForWithin(timeout time.Duration, what, cond, explain string) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var ok bool
		err := b.Eval("Boolean("+cond+")", &ok)
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			var why any
			b.Eval(explain, &why)
			b.t.Fatalf("waiting for %s (%s): %v; page: %v", what, cond, err, why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Screenshot saves the page as a PNG.
func (b *Browser) Screenshot(path string) {
	b.t.Helper()
	var shot struct{ Data string }
	b.Call(b.Session, "Page.captureScreenshot", map[string]any{"format": "png"}, &shot)
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// TakeProblems returns and forgets what the page reported as wrong.
func (b *Browser) TakeProblems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.problems
	b.problems = nil
	return p
}

// Close ends the browser: politely over DevTools, then by its process
// group, and waits for the process and the goroutines reading from it.
func (b *Browser) Close() {
	if b.cmd == nil {
		return
	}
	if b.ws != nil {
		b.TryCall("", "Browser.close", nil, nil)
		b.ws.Close(websocket.StatusNormalClosure, "")
		b.readerW.Wait()
	}
	exited := make(chan struct{})
	go func() {
		b.stderrW.Wait()
		b.cmd.Wait()
		close(exited)
	}()
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
	// Helpers that outlived the browser process belong to its group.
	syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
	b.cmd = nil
}
