package auth

import (
	"context"
	"errors"
	"testing"

	"github.com/herald-io/herald/internal/eventlog"
)

// beforeWatchKV runs hook once, inside the first Watch, before the watch
// takes its snapshot of the bucket.
type beforeWatchKV struct {
	eventlog.KV
	hook func()
}

func (k *beforeWatchKV) Watch(ctx context.Context, prefix string, fn func(eventlog.Entry)) error {
	if h := k.hook; h != nil {
		k.hook = nil
		h()
	}
	return k.KV.Watch(ctx, prefix, fn)
}

// TestResyncDropsWhatTheReplayLacks: a key and an alias this node cached
// while its watch was being set up, and that another node removed before
// the watch's snapshot, are neither replayed nor deleted by the watch: the
// end of the replay must drop them all the same.
func TestResyncDropsWhatTheReplayLacks(t *testing.T) {
	ctx := t.Context()
	mem := newMemKV()
	kv := &beforeWatchKV{KV: mem}
	a := New(kv, Config{})
	other := New(mem, Config{})
	var key Key
	var token string
	kv.hook = func() {
		var err error
		if key, token, err = a.Create(ctx, Spec{Name: "brief"}); err != nil {
			t.Error(err)
			return
		}
		if err := a.CreateAlias(ctx, "jetstream", testGUID, key.ID); err != nil {
			t.Error(err)
		}
		if _, err := other.RemoveAliases(ctx, "jetstream", key.ID); err != nil {
			t.Error(err)
		}
		if err := other.Revoke(ctx, key.ID); err != nil {
			t.Error(err)
		}
	}
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	eventually(t, "node a's watch replays the bucket", func() bool { return mem.delivered.Load() > 0 })
	if _, err := a.Authenticate(ctx, token); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("key revoked elsewhere before the snapshot: %v", err)
	}
	if _, err := a.AuthenticateAlias(ctx, "jetstream", testGUID); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("alias removed elsewhere before the snapshot: %v", err)
	}
}
