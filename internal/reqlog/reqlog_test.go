package reqlog_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/herald-io/herald/internal/reqlog"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A request's line is written once: by Done, or, once detached, only by
// the function Detach returned.
func TestEntryWritesOnce(t *testing.T) {
	var lines []int
	e := reqlog.New("GET", "/v1/stream", "192.0.2.1:1", time.Now(), func(_ *reqlog.Entry, status int, _ int64) {
		lines = append(lines, status)
	})
	ctx := reqlog.With(context.Background(), e)
	if reqlog.From(ctx) != e || reqlog.From(context.Background()) != nil {
		t.Fatal("From does not return the entry With stored")
	}
	end := reqlog.From(ctx).Detach()
	if reqlog.From(ctx).Detach() != nil {
		t.Fatal("a second Detach returned a function")
	}
	e.Done(200, 0) // the handler returned: the stream goes on
	if len(lines) != 0 {
		t.Fatalf("Done wrote %v for a detached entry", lines)
	}
	end(101, 10)
	if len(lines) != 1 || lines[0] != 101 {
		t.Fatalf("lines %v, want [101]", lines)
	}
	var none *reqlog.Entry // no middleware: every method does nothing
	none.SetKey("k", "native")
	none.Done(200, 0)
	if none.Detach() != nil || none.Detached() {
		t.Fatal("a nil entry detached")
	}
}
