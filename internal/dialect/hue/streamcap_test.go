package hue

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/deliver"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
)

// An application key at its cap on open event streams gets a CLIP error
// body with 429 for one more.
func TestEventStreamsPerKeyCap(t *testing.T) {
	b := newBridgeOn(t, dialecttest.Options{Deliver: func(cfg *deliver.Config) { cfg.StreamsPerKey = 1 }}, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b.aiohueStream(ctx)
	r := b.do("GET", "/eventstream/clip/v2", "", appKeyHeader+": "+b.app, "Accept: text/event-stream")
	var body struct {
		Errors []struct{ Description string }
		Data   []any
	}
	r.decode(t, &body)
	if r.status != http.StatusTooManyRequests || len(body.Errors) != 1 || body.Errors[0].Description == "" || body.Data == nil {
		t.Fatalf("over the cap: %d %s", r.status, r.body)
	}
}
