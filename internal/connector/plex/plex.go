// Package plex is the connector kind that puts herald in front of a Plex
// Media Server: the connector follows the server's notification WebSocket
// and stores every notification in the log under the plex topics, so the
// Plex dialect serves both notification endpoints from the log (exact
// resume, history, filters); every other request of a Plex client is
// reverse-proxied to the server, on every node, so a client pointed at
// herald keeps working.
//
// Plex notifications carry no id and Plex replays nothing: what the server
// sent while no connector was connected is lost, as it is to any client.
// Each stored notification's herald id is a digest of the connector's name
// and the notification's bytes, so an append the connector retries is kept
// once; the price is that two identical notifications within the engine's
// dedupe window are kept once too.
package plex

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/herald-io/herald/internal/connector"
	plexdialect "github.com/herald-io/herald/internal/dialect/plex"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/topic"
)

// Kind is the "plex" kind. It proxies to the first plex connector by name;
// further ones only store notifications.
type Kind struct {
	api *plexdialect.API

	mu    sync.Mutex // guards proxy
	proxy *connector.Proxy
}

var (
	_ connector.Kind     = (*Kind)(nil)
	_ connector.Observer = (*Kind)(nil)
)

// New returns the kind, which sets api's fallback while a plex connector
// exists.
func New(api *plexdialect.API) *Kind { return &Kind{api: api} }

// Check wants a token.
func (k *Kind) Check(spec connector.Spec) error {
	if strings.TrimSpace(spec.Key) == "" {
		return errors.New("key: the Plex token (X-Plex-Token) is required")
	}
	return nil
}

const (
	maxFrame     = 1 << 20
	pingEvery    = 30 * time.Second
	pingTimeout  = 10 * time.Second
	notifyPath   = "/:/websockets/notifications"
	digestPrefix = "plex-"
)

// Run follows the notification WebSocket until ctx ends.
func (k *Kind) Run(ctx context.Context, env connector.Env) error {
	u, err := url.Parse(strings.TrimRight(env.Spec.URL, "/") + notifyPath)
	if err != nil {
		return err
	}
	u.Scheme = strings.Replace(u.Scheme, "http", "ws", 1)
	return connector.Retry(ctx, env.Report, &connector.Backoff{}, func(ctx context.Context, up func()) error {
		return follow(ctx, env, u.String(), up)
	})
}

// follow reads one connection's notifications and stores each.
func follow(ctx context.Context, env connector.Env, wsURL string, up func()) error {
	c, resp, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{
		HTTPClient: env.HTTP,
		HTTPHeader: http.Header{"X-Plex-Token": {env.Spec.Key}, "Accept": {"application/json"}},
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			if uerr := connector.CheckResponse(resp); uerr != nil {
				return uerr
			}
		}
		return fmt.Errorf("plex upstream: %w", err)
	}
	defer c.CloseNow()
	c.SetReadLimit(maxFrame)
	up()
	// A server that vanished without closing (power, network) is noticed
	// by a ping that goes unanswered.
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		t := time.NewTicker(pingEvery)
		defer t.Stop()
		for {
			select {
			case <-pctx.Done():
				return
			case <-t.C:
			}
			tctx, cancel := context.WithTimeout(pctx, pingTimeout)
			err := c.Ping(tctx)
			cancel()
			if err != nil && pctx.Err() == nil {
				c.CloseNow()
				return
			}
		}
	}()
	for {
		_, frame, err := c.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("plex upstream: stream cut: %w", err)
		}
		d, err := DraftOf(env.Spec.Name, frame)
		if err != nil {
			env.Logger.Warn("plex connector: notification skipped", "err", err)
			continue
		}
		acks, err := env.Core.Append(ctx, plexdialect.Dialect, []eventlog.Draft{d})
		if err != nil {
			return fmt.Errorf("plex connector: append: %w", err)
		}
		if !acks[0].Duplicate {
			env.Report.Ingested(1, acks[0].Time)
		}
	}
}

// ErrNotNotification is returned by DraftOf for a frame that is not a
// NotificationContainer.
var ErrNotNotification = errors.New("plex: not a NotificationContainer")

// DraftOf returns the draft that stores frame, one WebSocket message of
// Plex's ({"NotificationContainer":{"type":…,"size":n,"<Element>":[…]}}),
// so that the Plex dialect serves it as received on both transports: on
// topic "plex.<type>", with data {"<Element>":[…]} holding the element's
// objects byte for byte. Its id is a digest of name and frame.
func DraftOf(name string, frame []byte) (eventlog.Draft, error) {
	var outer struct {
		C map[string]json.RawMessage `json:"NotificationContainer"`
	}
	if err := json.Unmarshal(frame, &outer); err != nil || outer.C == nil {
		return eventlog.Draft{}, ErrNotNotification
	}
	var typ string
	if err := json.Unmarshal(outer.C["type"], &typ); err != nil || topic.Validate(typ) != nil {
		return eventlog.Draft{}, fmt.Errorf("%w: no valid type", ErrNotNotification)
	}
	element := ""
	for k := range outer.C {
		if k != "type" && k != "size" {
			if element != "" {
				return eventlog.Draft{}, fmt.Errorf("%w: more than one element", ErrNotNotification)
			}
			element = k
		}
	}
	items := outer.C[element]
	if element == "" || len(items) == 0 || items[0] != '[' {
		return eventlog.Draft{}, fmt.Errorf("%w: no element array", ErrNotNotification)
	}
	name0, _ := json.Marshal(element) // a string always encodes
	data := make([]byte, 0, len(name0)+len(items)+3)
	data = append(append(append(append(append(data, '{'), name0...), ':'), items...), '}')
	sum := sha256.Sum256(append([]byte(name+"\n"), frame...))
	return eventlog.Draft{ID: digestPrefix + hex.EncodeToString(sum[:16]), Topic: plexdialect.TopicPrefix + typ,
		Type: typ, Data: data}, nil
}

// Observe points the dialect's fallback at the first plex connector's
// server, or removes it when there is none.
func (k *Kind) Observe(specs []connector.Spec) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(specs) > 0 && k.proxy != nil && k.proxy.Spec == specs[0] {
		return
	}
	if k.proxy != nil {
		k.proxy.Close()
		k.proxy = nil
	}
	if len(specs) == 0 {
		k.api.SetFallback(nil)
		return
	}
	p, err := newProxy(specs[0])
	if err != nil {
		k.api.SetFallback(nil)
		return
	}
	k.proxy = p
	k.api.SetFallback(p)
}

// newProxy is the reverse proxy to one connector's server.
func newProxy(spec connector.Spec) (*connector.Proxy, error) {
	return connector.NewProxy(spec, func(pr *httputil.ProxyRequest) {
		// The client authenticated to herald with herald's token; the
		// server wants the connector's.
		q := pr.Out.URL.Query()
		if q.Has("X-Plex-Token") {
			q.Del("X-Plex-Token")
			pr.Out.URL.RawQuery = q.Encode()
		}
		pr.Out.Header.Set("X-Plex-Token", spec.Key)
	}, func(w http.ResponseWriter, _ *http.Request, _ error) {
		http.Error(w, "the Plex server is unreachable", http.StatusBadGateway)
	})
}
