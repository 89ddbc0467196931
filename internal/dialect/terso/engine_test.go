package terso

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/cursor"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/eventlog/kvtest"
)

// countingKV counts Gets and Updates (engine round trips) on a bucket.
type countingKV = kvtest.Counting

// counted is an env whose key, cursor and (legacy) user buckets count
// engine calls.
type counted struct {
	*env
	keys, cursors, legacy *countingKV
}

// setupCounted builds the core with counting buckets under its keys and
// cursors, and a key service whose clock stands still (its miss limiter
// does not refill during a test).
func setupCounted(t *testing.T) counted {
	t.Helper()
	var cnt counted
	cnt.env = setupWith(t, Config{}, func(c *dialecttest.Core, clk *clock) {
		ctx := context.Background()
		keys, err := c.Log.KV(ctx, "herald-keys")
		if err != nil {
			t.Fatal(err)
		}
		cnt.keys = &countingKV{KV: keys}
		svc := auth.New(cnt.keys, auth.Config{Now: clk.Now})
		if err := svc.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(svc.Close)
		c.Core.Auth = svc
		cursors, err := c.Log.KV(ctx, "herald-cursors")
		if err != nil {
			t.Fatal(err)
		}
		cnt.cursors = &countingKV{KV: cursors}
		c.Core.Cursors = cursor.New(cnt.cursors, c.Hub, c.Hub, cursor.Config{Now: clk.Now})
	})
	cnt.legacy = &countingKV{KV: cnt.api.legacy}
	cnt.api.legacy = cnt.legacy
	return cnt
}

// credentialReads is how many engine reads were made for credentials.
func (c counted) credentialReads() int64 { return c.keys.Gets.Load() + c.legacy.Gets.Load() }

// TestAccessKeyNoEngineRead: a known access key is answered from memory,
// as herald tokens are.
func TestAccessKeyNoEngineRead(t *testing.T) {
	e := setupCounted(t)
	u := e.addUser(`{"name":"reads"}`)
	e.sdk("GET", "/3/events", u.AccessKey, "", nil) // subscribes
	before := e.credentialReads()
	for range 5 {
		if r := e.sdk("GET", "/3/events", u.AccessKey, "", nil); r.status != 200 {
			t.Fatalf("GET: %d %s", r.status, r.body)
		}
	}
	if n := e.credentialReads() - before; n != 0 {
		t.Fatalf("5 GETs with a valid access key made %d engine reads for the credential, want 0", n)
	}
}

// TestRandomAccessKeysBounded: a flood of made-up access keys costs at most
// what the key service's miss limiter allows (100 at once), and draws on
// the same limiter as made-up herald tokens.
func TestRandomAccessKeysBounded(t *testing.T) {
	e := setupCounted(t)
	const flood = 300
	for range flood {
		if r := e.sdk("GET", "/3/events", uuid.NewString(), "", nil); r.status != 401 {
			t.Fatalf("random access key: %d %s", r.status, r.body)
		}
	}
	if n := e.credentialReads(); n > 100 {
		t.Fatalf("%d random access keys made %d engine reads, want at most 100", flood, n)
	}
	before := e.credentialReads()
	_, err := e.core.Auth.Authenticate(t.Context(), "hk_0123456789abcdef_"+fmt.Sprintf("%032d", 7))
	if !errors.Is(err, auth.ErrUnauthorized) {
		t.Fatalf("made-up token: %v", err)
	}
	if n := e.credentialReads() - before; n != 0 {
		t.Fatalf("a made-up token after the flood made %d engine reads: the flood did not use the miss limiter", n)
	}
}
