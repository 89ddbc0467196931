package deliver_test

import (
	"testing"

	"github.com/herald-io/herald/internal/deliver"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/framing"
)

// writePath is a way the fan-out workers write: one writev per stream, or
// the round's writes in batches through io_uring (Config.IOUring).
type writePath struct {
	name    string
	ioUring bool
}

// onWritePaths runs test once for each write path, as subtests.
func onWritePaths(t *testing.T, test func(*testing.T, writePath)) {
	for _, p := range []writePath{{"writev", false}, {"io_uring", true}} {
		t.Run(p.name, func(t *testing.T) { test(t, p) })
	}
}

// newCore is dialecttest.NewCore with the workers writing p's way. Where
// io_uring cannot be used at all, its path is skipped; where it can, the
// workers must use it.
func newCore(t *testing.T, p writePath, opts dialecttest.Options) *dialecttest.Core {
	t.Helper()
	if p.ioUring {
		b, err := framing.NewBatch(1)
		if err != nil {
			t.Skip("no io_uring here:", err)
		}
		b.Close()
	}
	adjust := opts.Deliver
	opts.Deliver = func(cfg *deliver.Config) {
		if adjust != nil {
			adjust(cfg)
		}
		cfg.IOUring = p.ioUring
	}
	c := dialecttest.NewCore(t, opts)
	if got := c.Deliver.FanoutRing(); got != p.ioUring {
		t.Fatalf("the workers write through io_uring: %v, want %v", got, p.ioUring)
	}
	return c
}
