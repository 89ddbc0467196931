package cursor

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/topic"
)

// sameAsMarshal fails t unless encode(st) is json.Marshal(st), byte for
// byte, or both refuse st.
func sameAsMarshal(t *testing.T, st State) {
	t.Helper()
	want, werr := json.Marshal(&st)
	got, gerr := encode(&st)
	switch {
	case (werr == nil) != (gerr == nil):
		t.Fatalf("state %+v: json.Marshal error %v, encode error %v", st, werr, gerr)
	case werr == nil && !bytes.Equal(got, want):
		t.Fatalf("state %+v:\nencode       %s\njson.Marshal %s", st, got, want)
	}
}

// TestEncodeIsMarshal: a state is stored as json.Marshal wrote it, so
// that every herald, older ones too, reads what any other wrote.
func TestEncodeIsMarshal(t *testing.T) {
	ist := time.FixedZone("IST", 5*3600+1800)
	pst := time.FixedZone("PST", -8*3600)
	odd := time.FixedZone("LMT", 3600+30) // seconds in the offset: RFC 3339 drops them
	day := time.FixedZone("DAY", 24*3600)
	base := time.Date(2026, 12, 2, 7, 16, 23, 123456789, time.UTC)
	states := []State{
		{},
		{ID: "native.k1.billing", Filter: topic.Filter{"app.orders.>"}, Acked: 42, Owner: "k1",
			Batch:      &Batch{ID: "0b8f6a2e-5f0c-4d38-9b7e-1c2d3e4f5a6b", Through: 43, Count: 1, Created: base},
			AckedBatch: "6a2e0b8f-5f0c-4d38-9b7e-1c2d3e4f5a6b", Created: base, LastActive: base.Add(time.Second)},
		{ID: "z", Filter: topic.Filter{}, Acked: math.MaxUint64, IdleTTL: -time.Nanosecond},
		{ID: "z", Filter: topic.Filter{"a", "b.*", ">"}, IdleTTL: 10 * time.Minute},
		{ID: `q"u\o<t>e&`, Owner: "tab\there\nnew\u2028line\u0001", AckedBatch: "\xff\xfeinvalid utf-8 é"},
		{ID: "m", Meta: json.RawMessage(`{"a":1,"b":[true,null,"x"]}`)},
		{ID: "m", Meta: json.RawMessage(" { \"a\" : 1 ,\n \"h\":\"<&>\" } ")}, // compacted, HTML escaped
		{ID: "m", Meta: json.RawMessage(`{"a":`)},                             // refused
		{ID: "m", Meta: json.RawMessage{}},
		{ID: "t", Created: base.In(ist), LastActive: base.In(pst), Batch: &Batch{Created: base.In(odd)}},
		{ID: "t", Created: base.Truncate(time.Second), LastActive: base.Truncate(time.Millisecond).Local()},
		{ID: "t", Created: time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), LastActive: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		{ID: "t", Created: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, // refused
		{ID: "t", LastActive: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)}, // refused
		{ID: "t", Batch: &Batch{Created: base.In(day)}},                  // refused
		{ID: "t", Created: time.Now()},                                   // a monotonic reading is not stored
	}
	for _, st := range states {
		sameAsMarshal(t, st)
	}
	// Random states, with strings from an alphabet of what needs escaping.
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "Z", "0", "-", "_", ".", ">", "*", " ", `"`, `\`, "<", "&", "\n", "\x00", "\x7f", "é", "\u2029", "\xc3", "😀"}
	str := func() string {
		var b []byte
		for range rng.IntN(6) {
			b = append(b, alphabet[rng.IntN(len(alphabet))]...)
		}
		return string(b)
	}
	when := func() time.Time {
		return time.Unix(rng.Int64N(1<<34)-1<<33, rng.Int64N(1e9)).In(time.FixedZone("", (rng.IntN(48)-24)*1800))
	}
	for range 5000 {
		st := State{ID: str(), Acked: rng.Uint64() >> rng.IntN(64), AckedBatch: str(), Owner: str(),
			IdleTTL: time.Duration(rng.Int64N(1e12) - 1e11), Created: when(), LastActive: when()}
		if rng.IntN(3) > 0 {
			st.Filter = topic.Filter{}
			for range rng.IntN(3) {
				st.Filter = append(st.Filter, str())
			}
		}
		if rng.IntN(2) == 0 {
			st.Batch = &Batch{ID: str(), Through: rng.Uint64(), Count: rng.IntN(1000) - 10, Created: when()}
		}
		if rng.IntN(4) == 0 {
			st.Meta, _ = json.Marshal(map[string]string{str(): str()})
		}
		sameAsMarshal(t, st)
	}
}

// FuzzEncode: for any strings, numbers and times, encode is json.Marshal.
func FuzzEncode(f *testing.F) {
	f.Add("native.k.b", "app.>", "k", "b-1", uint64(7), int64(0), int64(1780000000), int64(5), 0, []byte(`{"x":1}`))
	f.Add(`<"\>`, "\xff", "\u2028", "", uint64(0), int64(-1), int64(-62135596801), int64(999999999), 1800*11, []byte(` [ 1 ] `))
	f.Fuzz(func(t *testing.T, id, pattern, owner, batch string, acked uint64, ttl, sec, nsec int64, zone int, meta []byte) {
		at := time.Unix(sec, nsec).In(time.FixedZone("", zone))
		st := State{ID: id, Filter: topic.Filter{pattern}, Acked: acked, Owner: owner, AckedBatch: batch,
			IdleTTL: time.Duration(ttl), Meta: meta, Created: at, LastActive: at.Add(time.Duration(nsec))}
		if batch != "" {
			st.Batch = &Batch{ID: batch, Through: acked + 1, Count: int(nsec % 100), Created: at}
		}
		sameAsMarshal(t, st)
	})
}

// TestDecodeStoredByOlder reads a state as a herald before this encoder
// stored it (json.Marshal's bytes, times in a zone of their own) and
// stores it again unchanged.
func TestDecodeStoredByOlder(t *testing.T) {
	stored := `{"id":"native.k1.billing","filter":["app.orders.\u003e"],"acked":42,` +
		`"batch":{"id":"0b8f6a2e-5f0c-4d38-9b7e-1c2d3e4f5a6b","through":43,"count":1,"created":"2026-12-02T08:16:23.5+01:00"},` +
		`"acked_batch":"x","owner":"k1","meta":{"q":"\u003c"},"idle_ttl":600000000000,` +
		`"created":"2026-12-01T00:00:00Z","last_active":"2026-12-02T07:16:23.123456789Z"}`
	st, err := decode(eventlog.Entry{Key: "native.k1.billing", Value: []byte(stored), Revision: 9})
	if err != nil {
		t.Fatal(err)
	}
	if st.rev != 9 || st.Acked != 42 || st.Batch.Through != 43 || st.IdleTTL != 10*time.Minute ||
		!st.LastActive.Equal(time.Date(2026, 12, 2, 7, 16, 23, 123456789, time.UTC)) {
		t.Fatalf("decoded %+v", st)
	}
	again, err := encode(&st)
	if err != nil || string(again) != stored {
		t.Fatalf("stored again as\n%s (%v), not\n%s", again, err, stored)
	}
}

// BenchmarkEncode compares encode with json.Marshal on a native
// subscription's state as a poll stores it.
func BenchmarkEncode(b *testing.B) {
	now := time.Now()
	st := State{ID: "native.k1.billing", Filter: topic.Filter{"bench.load"}, Acked: 123456, Owner: "k1",
		Batch:      &Batch{ID: "0b8f6a2e-5f0c-4d38-9b7e-1c2d3e4f5a6b", Through: 123457, Count: 1, Created: now},
		AckedBatch: "6a2e0b8f-5f0c-4d38-9b7e-1c2d3e4f5a6b", Created: now, LastActive: now}
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := encode(&st); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("appendState", func(b *testing.B) {
		var buf [512]byte
		b.ReportAllocs()
		for range b.N {
			if _, err := appendState(buf[:0], &st); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := json.Marshal(&st); err != nil {
				b.Fatal(err)
			}
		}
	})
}
