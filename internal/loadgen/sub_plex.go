package loadgen

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
)

// plexTokenRate is the request rate given to the run's Plex token, so
// that thousands of listeners may connect with it at once.
const plexTokenRate = 1e6

// plexMode listens as Plex clients do, on the notifications WebSocket
// (/:/websocket/notifications, X-Plex-Token), with a token made through
// the admin endpoint. Each event is published through the native API on
// topic plex.<topic> — what Plex calls a notification of type <topic> —
// and arrives as {"NotificationContainer":{…,"<Type>Notification":[data]}};
// filters=<topic> keeps other notifications off the stream.
type plexMode struct {
	*env
	token string
}

func (m *plexMode) prepare(ctx context.Context, _, _ int) error {
	var out struct{ Token string }
	req := map[string]any{"name": "herald-bench", "rate": plexTokenRate}
	if err := m.adminCall(ctx, http.MethodPost, "/v1/plex/tokens", req, &out); err != nil {
		return fmt.Errorf("create a token: %w", err)
	}
	m.token = out.Token
	return nil
}

func (m *plexMode) subscribe(ctx context.Context, _ int, local net.Addr) (receiver, error) {
	u := m.url("/:/websocket/notifications", "filters="+url.QueryEscape(m.cfg.Topic))
	return dialWS(ctx, m.reactors, u, local, "X-Plex-Token: "+m.token+"\r\n")
}

func (m *plexMode) publisher(int) pubTemplate { return nativePublish(m.env, "plex."+m.cfg.Topic) }

func (m *plexMode) cleanup(ctx context.Context) error {
	if m.token == "" {
		return nil
	}
	return m.revokeKeys(ctx, []string{m.token})
}
