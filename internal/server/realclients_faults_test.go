package server_test

import "testing"

// The real clients (interop/js) through herald's fault rules: the npm
// eventsource client resumes exactly across injected cuts, an application
// on zulip-js registers again after an injected BAD_EVENT_QUEUE_ID, and
// the ws client and plexjs reconnect after an injected restart.
func TestRealClientsUnderFaults(t *testing.T) {
	rc := startRealClients(t)
	t.Run("hue-eventsource-cuts", func(t *testing.T) {
		key := rc.pairHue(t)
		var dev struct {
			Data []struct{ RID, RType string }
		}
		rc.admin("/v1/hue/devices", map[string]any{"product": "dimmer_switch", "name": "Hall"}, &dev)
		button := ""
		for _, svc := range dev.Data {
			if svc.RType == "button" && button == "" {
				button = svc.RID
			}
		}
		rc.run(t, "faults-hue.mjs", "HUE_KEY="+key, "HUE_BUTTON="+button)
	})
	t.Run("zulip-js-expired-queue", func(t *testing.T) {
		var u struct {
			APIKey string `json:"api_key"`
		}
		rc.admin("/v1/zulip/users", map[string]any{"email": "app@example.com", "full_name": "App"}, &u)
		rc.admin("/v1/zulip/streams", map[string]any{"name": "general"}, nil)
		rc.run(t, "faults-zulip.mjs", "ZULIP_EMAIL=app@example.com", "ZULIP_KEY="+u.APIKey)
	})
	t.Run("plex-restart", func(t *testing.T) {
		var tok struct{ Token string }
		rc.admin("/v1/plex/tokens", map[string]any{"name": "restart"}, &tok)
		rc.run(t, "faults-plex.mjs", "PLEX_TOKEN="+tok.Token)
	})
}
