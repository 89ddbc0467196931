package ctxtime_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/herald-io/herald/internal/ctxtime"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSleep(t *testing.T) {
	if err := ctxtime.Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatalf("a wait that ran out: %v", err)
	}
	if err := ctxtime.Sleep(context.Background(), 0); err != nil {
		t.Fatalf("no wait: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ctxtime.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("an ended context: %v", err)
	}
	if err := ctxtime.Sleep(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("an ended context, no wait: %v", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if err := ctxtime.Sleep(ctx, time.Hour); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a context that ends during the wait: %v", err)
	}
}
