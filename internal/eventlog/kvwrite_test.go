package eventlog

import (
	"context"
	"errors"
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The stream's acknowledgement of an update: its template read by hand,
// everything else as the client decodes it.
func TestPubAck(t *testing.T) {
	k := &natsKV{ackPrefix: []byte(`{"stream":"KV_c","seq":`)}
	for _, tc := range []struct {
		data string
		seq  uint64
		err  error
	}{
		{`{"stream":"KV_c","seq":7}`, 7, nil},
		{`{"stream":"KV_c","seq":18446744073709551615}`, 1<<64 - 1, nil},
		{`{"stream":"KV_c","domain":"hub","seq":9}`, 9, nil},
		{`{"stream":"KV_c","seq":9,"duplicate":true}`, 9, nil},
		{`{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 3"},"stream":"KV_c","seq":0}`, 0, ErrConflict},
		// A replicated stream says it without the sequence, in a code of its own.
		{`{"error":{"code":400,"err_code":10164,"description":"wrong last sequence"},"stream":"KV_c","seq":0}`, 0, ErrConflict},
		{`{"error":{"code":503,"err_code":10077,"description":"insufficient resources"},"stream":"KV_c","seq":0}`, 0, errUnknownAPI},
		{`{"stream":"KV_c","seq":}`, 0, jetstream.ErrInvalidJSAck},
		{`{"stream":"KV_c","seq":-1}`, 0, jetstream.ErrInvalidJSAck},
		{`{"seq":4}`, 0, jetstream.ErrInvalidJSAck},
		{``, 0, jetstream.ErrInvalidJSAck},
	} {
		seq, err := k.pubAck([]byte(tc.data))
		err = kvErr("k", err)
		switch {
		case tc.err == errUnknownAPI:
			var apiErr *jetstream.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode != 10077 || errors.Is(err, ErrConflict) {
				t.Errorf("%s: %v, want the stream's error", tc.data, err)
			}
		case !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) || seq != tc.seq:
			t.Errorf("%s: %d, %v; want %d, %v", tc.data, seq, err, tc.seq, tc.err)
		}
	}
}

var errUnknownAPI = errors.New("an API error of the stream's")

// validKey refuses what the client's KeyValue refuses, and only that.
func TestValidKey(t *testing.T) {
	clientRe := regexp.MustCompile(`^[-/_=\.a-zA-Z0-9]+$`)
	client := func(k string) bool {
		return k != "" && k[0] != '.' && k[len(k)-1] != '.' && !strings.Contains(k, "..") && clientRe.MatchString(k)
	}
	keys := []string{"", ".", "a", "a.b", ".a", "a.", "a..b", "Az09-_=/.x", "a b", "a*", "a.>", "ü", "a\x00", "a\tb", "native.k1.billing"}
	rng := rand.New(rand.NewPCG(3, 4))
	const alphabet = "aZ09-/_=..*> \x00\x7fü"
	for range 20000 {
		var b []byte
		for range rng.IntN(6) {
			b = append(b, alphabet[rng.IntN(len(alphabet))])
		}
		keys = append(keys, string(b))
	}
	for _, k := range keys {
		if got, want := validKey(k), client(k); got != want {
			t.Fatalf("validKey(%q) = %v, the client's %v", k, got, want)
		}
	}
}

// An update no stream takes is sent again, up to updateRetries times,
// then fails as unavailable (nothing was stored), not as a conflict. Here
// the bucket's stream is gone, and a subscriber in its place answers as
// the engine does when no one listens (status 503), then as the stream.
func TestUpdateNoStream(t *testing.T) {
	ctx := t.Context()
	l, kv := bucketWithoutStream(t, "gone")
	var mu sync.Mutex
	var answers []string // what the subscriber answers, in turn; "" is 503
	sent := 0
	sub, err := l.nc.Subscribe("$KV.gone.>", func(m *nats.Msg) {
		mu.Lock()
		defer mu.Unlock()
		sent++
		a := &nats.Msg{Subject: m.Reply, Header: nats.Header{"Status": []string{"503"}}}
		if len(answers) > 0 {
			if answers[0] != "" {
				a = &nats.Msg{Subject: m.Reply, Data: []byte(answers[0])}
			}
			answers = answers[1:]
		}
		l.nc.PublishMsg(a)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	script := func(a ...string) {
		mu.Lock()
		defer mu.Unlock()
		answers, sent = a, 0
	}
	sends := func() int {
		mu.Lock()
		defer mu.Unlock()
		return sent
	}

	script("", "", "", "")
	_, err = kv.Update(ctx, "k", []byte("v"), 0)
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrConflict) {
		t.Fatalf("Update no stream takes: %v, want ErrUnavailable", err)
	}
	if n := sends(); n != 1+updateRetries {
		t.Fatalf("Update no stream takes was sent %d times, want %d", n, 1+updateRetries)
	}
	script("", `{"stream":"KV_gone","seq":5}`)
	if rev, err := kv.Update(ctx, "k", []byte("v"), 0); err != nil || rev != 5 {
		t.Fatalf("Update taken when sent again: %d, %v", rev, err)
	}
	if n := sends(); n != 2 {
		t.Fatalf("Update taken when sent again was sent %d times, want 2", n)
	}
}

// Updates without a deadline of their own share one, between
// updateTimeout and updateTimeout+updateSlack away; one that would leave
// less than updateTimeout starts the next.
func TestSharedDeadline(t *testing.T) {
	var d sharedDeadline
	before := time.Now()
	a := d.context(context.Background())
	b := d.context(context.WithValue(context.Background(), ctxKey{}, "v"))
	at, ok := a.Deadline()
	if !ok || a.Done() != b.Done() || a.Done() == nil || at.Before(before.Add(updateTimeout)) ||
		at.After(time.Now().Add(updateTimeout+updateSlack)) || a.Err() != nil {
		t.Fatalf("deadline %v (%v), shared %v, err %v", at, ok, a.Done() == b.Done(), a.Err())
	}
	if b.Value(ctxKey{}) != "v" {
		t.Fatal("a value of the parent's is lost")
	}
	d.mu.Lock()
	d.at = time.Now().Add(updateTimeout - time.Millisecond) // as if a second had passed
	d.mu.Unlock()
	c := d.context(context.Background())
	if c.Done() == a.Done() {
		t.Fatal("a deadline less than updateTimeout away was shared")
	}
	done := make(chan struct{})
	close(done)
	if err := (&deadlineCtx{Context: context.Background(), done: done}).Err(); err != context.DeadlineExceeded {
		t.Fatalf("Err once done: %v", err)
	}
}

type ctxKey struct{}

// An update without a deadline whose answer never comes gives up at the
// shared deadline, as unavailable.
func TestUpdateGivesUpAtSharedDeadline(t *testing.T) {
	l, kv := bucketWithoutStream(t, "mute")
	sub, err := l.nc.Subscribe("$KV.mute.>", func(*nats.Msg) {}) // takes it, never answers
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	k := kv.(*natsKV)
	shared := make(chan struct{})
	k.deadline.mu.Lock()
	k.deadline.at, k.deadline.done = time.Now().Add(time.Hour), shared
	k.deadline.mu.Unlock()
	res := make(chan error, 1)
	go func() {
		_, err := kv.Update(context.Background(), "k", []byte("v"), 0)
		res <- err
	}()
	select {
	case err := <-res:
		t.Fatalf("Update returned before its deadline: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(shared)
	select {
	case err := <-res:
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Update past its deadline: %v, want ErrUnavailable", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Update did not give up at its deadline")
	}
}

// bucketWithoutStream opens a log and its bucket name, then deletes the
// bucket's stream: its writes go to whoever subscribes in its place.
func bucketWithoutStream(t *testing.T, name string) (*Log, KV) {
	t.Helper()
	ctx := t.Context()
	l, err := Open(ctx, Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	kv, err := l.KV(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.js.DeleteStream(ctx, "KV_"+name); err != nil {
		t.Fatal(err)
	}
	return l, kv
}
