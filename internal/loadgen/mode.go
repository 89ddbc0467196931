package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// The modes: how subscribers listen and publishers publish.
const (
	ModeSSE     = "sse"       // native SSE, GET /v1/stream
	ModeWS      = "ws"        // native WebSocket, GET /v1/ws
	ModePoll    = "poll"      // native long-poll, GET /v1/events
	ModeSub     = "sub"       // native durable subscriptions, GET …/events and ack
	ModeHue     = "hue"       // Hue CLIP v2 event stream
	ModePlex    = "plex"      // Plex notifications WebSocket
	ModeZulip   = "zulip"     // Zulip event queues
	ModeJet     = "jetstream" // Jetstream RFID Get and Delete Events
	ModeGeneric = "generic"   // SSE from any server, given URL templates
)

// Modes lists the modes Run knows, the default first.
func Modes() []string {
	return []string{ModeSSE, ModeWS, ModePoll, ModeSub, ModeHue, ModePlex, ModeZulip, ModeJet, ModeGeneric}
}

// A mode is one way to subscribe and to publish: a transport or dialect of
// herald, or another server's SSE. It knows its wire; the accounting, the
// schedule and the report are Run's.
type mode interface {
	// prepare makes what n subscribers and k publishers need on the
	// server: credentials, streams.
	prepare(ctx context.Context, n, k int) error
	// subscribe opens subscriber i from address local (nil: any). It
	// returns once the subscription is in place: every event published
	// afterwards must reach it.
	subscribe(ctx context.Context, i int, local net.Addr) (receiver, error)
	// publisher returns publisher k's request.
	publisher(k int) pubTemplate
	// cleanup removes what prepare made on the server (best effort).
	cleanup(ctx context.Context) error
	// close frees what the mode holds on this side (kept-alive connections).
	close()
}

// A receiver is one open subscription.
type receiver interface {
	// run feeds everything the subscription receives to acc until close
	// is called or the subscription fails.
	run(acc *account) error
	// close ends run.
	close()
}

// pubTemplate is a publish request; the event's payload goes between pre
// and post in the body. A 2xx answer means the event was accepted.
type pubTemplate struct {
	method, url string
	header      http.Header
	pre, post   []byte
}

// newMode returns cfg.Mode's implementation and the host its subscribers
// connect to. runID tells this run's users and keys from others'.
func newMode(cfg *Config, runID string) (mode, string, error) {
	if cfg.Mode == ModeGeneric {
		m, err := newGeneric(cfg)
		if err != nil {
			return nil, "", err
		}
		return m, m.sub.Hostname(), nil
	}
	e, err := newEnv(cfg, runID)
	if err != nil {
		return nil, "", err
	}
	host := e.base.Hostname()
	switch cfg.Mode {
	case ModeSSE, ModeWS, ModePoll:
		return &nativeMode{env: e, transport: cfg.Mode}, host, nil
	case ModeHue:
		return &hueMode{env: e}, host, nil
	case ModePlex:
		return &plexMode{env: e}, host, nil
	case ModeSub:
		return &subMode{env: e}, host, nil
	case ModeZulip:
		return &zulipMode{env: e}, host, nil
	case ModeJet:
		return &jetstreamMode{env: e}, host, nil
	}
	return nil, "", fmt.Errorf("unknown mode %q (one of %s)", cfg.Mode, strings.Join(Modes(), ", "))
}

// env is what herald's modes share: the server, the key, admin calls.
type env struct {
	cfg      *Config
	runID    string
	base     *url.URL
	client   *http.Client // setup and cleanup calls
	reactors *reactorPool // read the SSE and WebSocket subscribers
}

func newEnv(cfg *Config, runID string) (*env, error) {
	u, err := url.Parse(strings.TrimSuffix(cfg.URL, "/"))
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	if _, err := hostPort(u); err != nil {
		return nil, err
	}
	return &env{cfg: cfg, runID: runID, base: u, client: &http.Client{Timeout: time.Minute},
		reactors: newReactorPool()}, nil
}

// url returns the server's URL of path with the raw query q.
func (e *env) url(path, q string) *url.URL {
	u := *e.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawPath = ""
	u.RawQuery = q
	return &u
}

// bearer is the Authorization header of the run's key.
func (e *env) bearer() http.Header {
	return http.Header{"Authorization": {"Bearer " + e.cfg.Key}}
}

// call sends in as JSON (if not nil) and decodes a 2xx answer into out (if
// not nil). Other answers are errors carrying the status and body.
func (e *env) call(ctx context.Context, method, path string, header http.Header, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.url(path, "").String(), body)
	if err != nil {
		return err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return &statusError{method: method, path: path, status: resp.StatusCode, body: b}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

// adminCall is call with the run's (admin) key.
func (e *env) adminCall(ctx context.Context, method, path string, in, out any) error {
	return e.call(ctx, method, path, e.bearer(), in, out)
}

// close ends the setup client's kept-alive connections and stops the
// reactors.
func (e *env) close() {
	e.client.CloseIdleConnections()
	e.reactors.close()
}

// statusError is an answer that was not what a call expected.
type statusError struct {
	method, path string
	status       int
	body         []byte
}

func (e *statusError) Error() string {
	b := bytes.TrimSpace(e.body)
	if len(b) > 300 {
		b = b[:300]
	}
	return fmt.Sprintf("%s %s answered %d: %s", e.method, e.path, e.status, b)
}

// nativePublish is a publish through the native API (POST /v1/events) with
// the run's key; the payload is the string data.b.
func nativePublish(e *env, topic string) pubTemplate {
	t, _ := json.Marshal(topic)
	h := e.bearer()
	h.Set("Content-Type", "application/json")
	return pubTemplate{
		method: http.MethodPost, url: e.url("/v1/events", "").String(), header: h,
		pre:  []byte(`{"topic":` + string(t) + `,"type":"bench","data":{"b":"`),
		post: []byte(`"}}`),
	}
}

// revokeKeys revokes herald keys the run made, by token ("hk_<id>_<secret>").
func (e *env) revokeKeys(ctx context.Context, tokens []string) error {
	var first error
	for _, t := range tokens {
		parts := strings.Split(t, "_")
		if len(parts) != 3 {
			continue
		}
		if err := e.adminCall(ctx, http.MethodDelete, "/v1/keys/"+url.PathEscape(parts[1]), nil, nil); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// setupConcurrency bounds concurrent setup calls (user creations): a Zulip
// user takes the realm's user-id counter by compare-and-set, and too many
// at once only make them retry.
const setupConcurrency = 4

// setupEach calls fn(i) for i in [0, n), setupConcurrency at a time, and
// returns the first error (or ctx's).
func setupEach(ctx context.Context, n int, fn func(i int) error) error {
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		sem   = make(chan struct{}, setupConcurrency)
	)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if ctx.Err() != nil {
				return
			}
			if err := fn(i); err != nil {
				once.Do(func() { first = err })
			}
		})
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}
