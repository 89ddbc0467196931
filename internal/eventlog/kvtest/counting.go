package kvtest

import (
	"context"
	"sync/atomic"

	"github.com/herald-io/herald/internal/eventlog"
)

// Counting wraps a KV and counts the engine round trips a test's subject
// makes on it: reads (Get) and compare-and-sets (Update).
type Counting struct {
	eventlog.KV
	Gets, Updates atomic.Int64
}

func (k *Counting) Get(ctx context.Context, key string) (eventlog.Entry, error) {
	k.Gets.Add(1)
	return k.KV.Get(ctx, key)
}

func (k *Counting) Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	k.Updates.Add(1)
	return k.KV.Update(ctx, key, value, rev)
}
