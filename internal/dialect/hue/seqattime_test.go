package hue

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/eventlog"
)

// TestSeqAtTimeAmongOtherEvents: the position for "<ts>:0" is found by
// Hue events alone, whatever other dialects' events lie between them —
// also on a replicated log, whose reads scan the whole stream and filter
// (a probe that met another dialect's event first took it for the end).
func TestSeqAtTimeAmongOtherEvents(t *testing.T) {
	dialecttest.EachLog(t, func(t *testing.T, opts dialecttest.Options) {
		b := newBridgeOn(t, opts, Config{})
		b.addDevice("smart_button", "B")
		ctx := t.Context()
		for range 8 {
			b.adminDo("/v1/hue/press", `{"button":"B"}`)
			if _, err := b.core.Log.Append(ctx, []eventlog.Draft{{Topic: "other.x", Type: "t", Data: json.RawMessage(`{}`)}}); err != nil {
				t.Fatal(err)
			}
		}
		first, last, err := b.core.Log.Bounds(ctx)
		if err != nil {
			t.Fatal(err)
		}
		evs, _, err := b.core.Log.Read(ctx, 0, nil, eventlog.MaxRead)
		if err != nil || uint64(len(evs)) != last-first+1 {
			t.Fatalf("%d events of %d..%d: %v", len(evs), first, last, err)
		}
		var lastHue uint64
		for _, e := range evs {
			if strings.HasPrefix(e.Topic, "hue.") {
				lastHue = e.Seq
			}
		}
		for _, tc := range []struct {
			ts   int64
			want uint64
		}{
			{1, first - 1}, // every Hue event is newer
			{time.Now().Add(time.Hour).Unix(), lastHue}, // none is
		} {
			got, err := b.api.seqAtTime(ctx, tc.ts, last)
			if err != nil || got != tc.want {
				t.Errorf("seqAtTime(%d) = %d, %v; want %d (log %d..%d)", tc.ts, got, err, tc.want, first, last)
			}
		}
	})
}
