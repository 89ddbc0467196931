package hue

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
)

// notPressed is a bridge's answer to pairing outside a press's window.
const notPressed = `[{"error":{"type":101,"address":"","description":"link button not pressed"}}]` + "\n"

// countingKV counts the engine calls made on the link button's keys.
type countingKV struct {
	eventlog.KV
	calls atomic.Int64
}

func (k *countingKV) count(key string) {
	if key == "" || strings.HasPrefix(key, "link") {
		k.calls.Add(1)
	}
}

func (k *countingKV) Get(ctx context.Context, key string) (eventlog.Entry, error) {
	k.count(key)
	return k.KV.Get(ctx, key)
}

func (k *countingKV) Create(ctx context.Context, key string, v []byte) (uint64, error) {
	k.count(key)
	return k.KV.Create(ctx, key, v)
}

func (k *countingKV) Update(ctx context.Context, key string, v []byte, rev uint64) (uint64, error) {
	k.count(key)
	return k.KV.Update(ctx, key, v, rev)
}

func (k *countingKV) Put(ctx context.Context, key string, v []byte) (uint64, error) {
	k.count(key)
	return k.KV.Put(ctx, key, v)
}

func (k *countingKV) Delete(ctx context.Context, key string, rev uint64) error {
	k.count(key)
	return k.KV.Delete(ctx, key, rev)
}

func (k *countingKV) List(ctx context.Context, prefix string) ([]eventlog.Entry, error) {
	k.count(prefix)
	return k.KV.List(ctx, prefix)
}

// pairFlood sends n pairing requests, spread over nodes and run
// concurrently, and returns how many got a key. Every answer must be a
// key or error 101.
func pairFlood(t *testing.T, nodes []*bridge, n int) int {
	t.Helper()
	var wg sync.WaitGroup
	var keys atomic.Int64
	errs := make(chan string, n)
	for i := range n {
		node := nodes[i%len(nodes)]
		wg.Go(func() {
			status, body, err := postNoKey(node.url+"/api", fmt.Sprintf(`{"devicetype":"flood#%d"}`, i))
			var ok []struct{ Success struct{ Username string } }
			switch {
			case err != nil:
				errs <- err.Error()
			case status != 200:
				errs <- fmt.Sprintf("status %d %s", status, body)
			case string(body) == notPressed:
			case json.Unmarshal(body, &ok) == nil && len(ok) == 1 && ok[0].Success.Username != "":
				keys.Add(1)
			default:
				errs <- string(body)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("pairing: %s", e)
	}
	return int(keys.Load())
}

// postNoKey is a POST without a key that reports failure instead of
// failing the test, for goroutines other than the test's.
func postNoKey(url, body string) (int, []byte, error) {
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	return res.StatusCode, data, err
}

// hueKeys counts the application keys that exist.
func hueKeys(t *testing.T, b *bridge) int {
	t.Helper()
	keys, err := b.core.Auth.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, k := range keys {
		if k.Dialect == dialectName {
			n++
		}
	}
	return n
}

// TestPairingsPerPressAreCapped: one press lets PairingsPerPress apps
// pair, however many try; the rest hear "link button not pressed" until
// the next press, which opens the same number again.
func TestPairingsPerPressAreCapped(t *testing.T) {
	b := newBridge(t, Config{})
	before := hueKeys(t, b)
	b.adminDo("/v1/hue/link", "")
	if got := pairFlood(t, []*bridge{b}, 300); got != DefaultPairingsPerPress {
		t.Fatalf("one press paired %d apps, want %d", got, DefaultPairingsPerPress)
	}
	if got := hueKeys(t, b) - before; got != DefaultPairingsPerPress {
		t.Fatalf("%d keys created, want %d", got, DefaultPairingsPerPress)
	}
	if r := b.do("POST", "/api", `{"devicetype":"late#one"}`); string(r.body) != notPressed {
		t.Fatalf("after the cap: %s", r.body)
	}
	b.adminDo("/v1/hue/link", "")
	if got := pairFlood(t, []*bridge{b}, 10); got != DefaultPairingsPerPress {
		t.Fatalf("the next press paired %d apps, want %d", got, DefaultPairingsPerPress)
	}
}

// TestPairingCapAcrossNodes: a press on one node opens pairing on every
// node, and the cap counts the pairings of all of them.
func TestPairingCapAcrossNodes(t *testing.T) {
	a := newBridge(t, Config{PairingsPerPress: 3})
	b := a.node(Config{PairingsPerPress: 3})
	a.adminDo("/v1/hue/link", "")
	// B learns of the press in the background: wait for its first key.
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := b.do("POST", "/api", `{"devicetype":"first#b"}`)
		if string(r.body) != notPressed {
			var ok []struct{ Success struct{ Username string } }
			if r.decode(t, &ok); len(ok) != 1 || ok[0].Success.Username == "" {
				t.Fatalf("pair on B: %s", r.body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("B never saw A's press")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := 1 + pairFlood(t, []*bridge{a, b}, 300); got != 3 {
		t.Fatalf("one press paired %d apps on two nodes, want 3", got)
	}
}

// TestPairingRefusalReadsNothing: with the link button not pressed, or
// its pairings used up, a pairing attempt is answered from memory: a
// flood of them makes no engine call.
func TestPairingRefusalReadsNothing(t *testing.T) {
	var skew atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	var kv *countingKV
	b := newBridge(t, Config{Now: clock, wrapKV: func(inner eventlog.KV) eventlog.KV {
		kv = &countingKV{KV: inner}
		return kv
	}})

	// newBridge's press is over.
	skew.Store(int64(DefaultLinkWindow + time.Second))
	kv.calls.Store(0)
	if got := pairFlood(t, []*bridge{b}, 300); got != 0 {
		t.Fatalf("%d apps paired without a press", got)
	}
	if n := kv.calls.Load(); n != 0 {
		t.Errorf("300 refused pairings without a press made %d engine calls, want 0", n)
	}

	// A press whose pairings are used up.
	b.adminDo("/v1/hue/link", "")
	if got := pairFlood(t, []*bridge{b}, DefaultPairingsPerPress); got != DefaultPairingsPerPress {
		t.Fatalf("paired %d, want %d", got, DefaultPairingsPerPress)
	}
	kv.calls.Store(0)
	if got := pairFlood(t, []*bridge{b}, 300); got != 0 {
		t.Fatalf("%d apps paired past the cap", got)
	}
	if n := kv.calls.Load(); n != 0 {
		t.Errorf("300 refused pairings past the cap made %d engine calls, want 0", n)
	}
}
