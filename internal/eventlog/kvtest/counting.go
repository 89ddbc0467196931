package kvtest

import (
	"context"
	"sync/atomic"

	"github.com/herald-io/herald/internal/eventlog"
)

// Counting wraps a KV and counts the engine round trips a test's subject
// makes on it: reads (Get), compare-and-sets (Update) and revision reads
// (Revision).
type Counting struct {
	eventlog.KV
	Gets, Updates, Revisions atomic.Int64
}

func (k *Counting) Get(ctx context.Context, key string) (eventlog.Entry, error) {
	k.Gets.Add(1)
	return k.KV.Get(ctx, key)
}

func (k *Counting) Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	k.Updates.Add(1)
	return k.KV.Update(ctx, key, value, rev)
}

func (k *Counting) Revision(ctx context.Context, prefix string) (uint64, error) {
	k.Revisions.Add(1)
	return k.KV.Revision(ctx, prefix)
}
