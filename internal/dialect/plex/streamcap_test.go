package plex

import (
	"io"
	"net/http"
	"testing"

	"github.com/herald-io/herald/internal/deliver"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
)

// A token at its cap on open streams gets Plex's plain 429 for one more,
// EventSource or WebSocket.
func TestStreamsPerTokenCap(t *testing.T) {
	e := newEnvOn(t, dialecttest.Options{Deliver: func(cfg *deliver.Config) { cfg.StreamsPerKey = 1 }}, Config{})
	if resp, _ := e.sse("X-Plex-Token=" + e.token); resp.StatusCode != http.StatusOK {
		t.Fatalf("first stream: %d", resp.StatusCode)
	}
	resp := e.get("/:/eventsource/notifications?X-Plex-Token=" + e.token)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusTooManyRequests || string(b) != "too many streams open for this token\n" {
		t.Fatalf("EventSource over the cap: %d %q", resp.StatusCode, b)
	}
	if status := e.dialStatus("/:/websocket/notifications?X-Plex-Token=" + e.token); status != http.StatusTooManyRequests {
		t.Fatalf("WebSocket over the cap: %d, want 429", status)
	}
}
