package hueconn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/herald-io/herald/internal/connector"
)

// appKeyHeader carries the bridge application key.
const appKeyHeader = "hue-application-key"

// Limits of the upstream's answers.
const (
	maxConfig    = 64 << 10
	maxResources = 32 << 20 // a large home: thousands of resources
	readTimeout  = 30 * time.Second
)

// client speaks to the bridge as one application.
type client struct {
	base string // the bridge's URL, without a trailing slash
	key  string
	http *http.Client // requests with a deadline of their own
	long *http.Client // the event stream: no overall timeout
}

func newClient(spec connector.Spec, hc *http.Client) *client {
	if hc == nil {
		hc = http.DefaultClient
	}
	long := *hc
	long.Timeout = 0
	return &client{base: strings.TrimRight(spec.URL, "/"), key: spec.Key, http: hc, long: &long}
}

// retryError is an upstream's "not now" (429, 503), with how long it asked
// to wait (0: it did not say).
type retryError struct {
	status int
	after  time.Duration
}

func (e *retryError) Error() string {
	if e.after > 0 {
		return fmt.Sprintf("hue: bridge answered %d, retry after %s", e.status, e.after)
	}
	return fmt.Sprintf("hue: bridge answered %d", e.status)
}

// statusError turns a failed answer into the error Run branches on: a
// refused key stops the connector, 429 and 503 say when to come back.
func statusError(what string, resp *http.Response) error {
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("%w: %s: the bridge refused the application key (%d)", connector.ErrStopped, what, resp.StatusCode)
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return fmt.Errorf("%s: %w", what, &retryError{status: resp.StatusCode, after: retryAfter(resp.Header)})
	}
	return fmt.Errorf("hue: %s: bridge answered %d", what, resp.StatusCode)
}

// retryAfter reads Retry-After in seconds or as an HTTP date; 0 if absent
// or unreadable.
func retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

func (c *client) request(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, fmt.Errorf("hue: request: %w", err)
	}
	req.Header.Set(appKeyHeader, c.key)
	return req, nil
}

// getJSON reads a JSON answer of at most limit bytes into v.
func (c *client) getJSON(ctx context.Context, path string, limit int64, v any) error {
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	req, err := c.request(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("hue: GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return statusError("GET "+path, resp)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return fmt.Errorf("hue: GET %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return fmt.Errorf("hue: GET %s: answer over %d bytes", path, limit)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("hue: GET %s: %w", path, err)
	}
	return nil
}

// bridgeConfig is what the public config says of the bridge.
type bridgeConfig struct {
	Name     string `json:"name"`
	BridgeID string `json:"bridgeid"`
}

// errNotABridge: the upstream's config names no bridge id.
var errNotABridge = errors.New("hue: the upstream's /api/config has no bridge id")

// config reads the bridge's id and name (GET /api/config, no key).
func (c *client) config(ctx context.Context) (bridgeConfig, error) {
	var cfg bridgeConfig
	if err := c.getJSON(ctx, "/api/config", maxConfig, &cfg); err != nil {
		return cfg, err
	}
	cfg.BridgeID = strings.ToLower(cfg.BridgeID)
	if len(cfg.BridgeID) != 16 {
		return cfg, errNotABridge
	}
	return cfg, nil
}

// resources reads every resource (GET /clip/v2/resource).
func (c *client) resources(ctx context.Context) ([]json.RawMessage, error) {
	var env struct {
		Errors []struct {
			Description string `json:"description"`
		} `json:"errors"`
		Data []json.RawMessage `json:"data"`
	}
	if err := c.getJSON(ctx, "/clip/v2/resource", maxResources, &env); err != nil {
		return nil, err
	}
	if len(env.Errors) > 0 {
		return nil, fmt.Errorf("hue: GET /clip/v2/resource: %s", env.Errors[0].Description)
	}
	return env.Data, nil
}

// stream opens the event stream; the caller closes the body.
func (c *client) stream(ctx context.Context) (io.ReadCloser, error) {
	req, err := c.request(ctx, http.MethodGet, "/eventstream/clip/v2", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.long.Do(req)
	if err != nil {
		return nil, fmt.Errorf("hue: event stream: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, statusError("event stream", resp)
	}
	return resp.Body, nil
}
