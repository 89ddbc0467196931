package loadgen

import (
	"context"
	"fmt"
	"net"
	"net/http"
)

// hueSubscribersPerKey is how many event streams share one application key:
// a key's rate limit (1000 requests/s, burst 2000) then admits them all at
// once when they connect.
const hueSubscribersPerKey = 1000

// hueMode listens as Hue apps do, on the CLIP v2 event stream
// (GET /eventstream/clip/v2, hue-application-key, SSE), with application
// keys paired the way an app pairs: the link button (pressed through the
// admin endpoint), then POST /api.
//
// Events are published through the native API on a hue.* topic, which the
// Hue stream carries like any Hue resource change: the data becomes one
// item of the Hue event's data array. Hue's own ingest (PUT on a resource)
// cannot carry a send time and a sequence number in every event, and it
// serialises writers on the resource's compare-and-set; the fan-out
// measured is the same.
type hueMode struct {
	*env
	keys []string
}

func (m *hueMode) topic() string { return "hue." + m.cfg.Topic }

func (m *hueMode) prepare(ctx context.Context, n, _ int) error {
	if err := m.adminCall(ctx, http.MethodPost, "/v1/hue/link", struct{}{}, nil); err != nil {
		return fmt.Errorf("press the link button: %w", err)
	}
	for i := range (n + hueSubscribersPerKey - 1) / hueSubscribersPerKey {
		var out []struct {
			Success struct{ Username string }
			Error   *struct{ Description string }
		}
		req := map[string]string{"devicetype": fmt.Sprintf("herald-bench#%d", i)}
		if err := m.call(ctx, http.MethodPost, "/api", nil, req, &out); err != nil {
			return fmt.Errorf("pair: %w", err)
		}
		switch {
		case len(out) != 1:
			return fmt.Errorf("pair: %d answers", len(out))
		case out[0].Error != nil:
			return fmt.Errorf("pair: %s", out[0].Error.Description)
		}
		m.keys = append(m.keys, out[0].Success.Username)
	}
	return nil
}

func (m *hueMode) subscribe(ctx context.Context, i int, local net.Addr) (receiver, error) {
	return dialSSE(ctx, m.reactors, m.url("/eventstream/clip/v2", ""), local, "hue-application-key: "+m.keys[i/hueSubscribersPerKey]+"\r\n")
}

func (m *hueMode) publisher(int) pubTemplate { return nativePublish(m.env, m.topic()) }

func (m *hueMode) cleanup(ctx context.Context) error { return m.revokeKeys(ctx, m.keys) }
