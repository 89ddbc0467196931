package eventlog

import (
	"context"
	"fmt"
	"strconv"
	"testing"
)

// Appends of 1 and 100 events from parallel publishers (b.SetParallelism
// gives 32 goroutines on 2 cores, as in the ingest target).
func BenchmarkAppend1(b *testing.B)              { benchAppend(b, FsyncDefault, 1) }
func BenchmarkAppend100(b *testing.B)            { benchAppend(b, FsyncDefault, 100) }
func BenchmarkAppend10FsyncAlways(b *testing.B)  { benchAppend(b, FsyncAlways, 10) }
func BenchmarkAppend100FsyncAlways(b *testing.B) { benchAppend(b, FsyncAlways, 100) }

func benchAppend(b *testing.B, fsync Fsync, n int) {
	l := openTest(b, Config{Fsync: fsync})
	ds := drafts("app.bench", n)
	ctx := context.Background()
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.Append(ctx, ds); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkRead measures catch-up replay from the log in pages of 1000.
func BenchmarkRead(b *testing.B) {
	l := openTest(b, Config{})
	ctx := context.Background()
	const total = 100000
	for i := 0; i < total/1000; i++ {
		if _, err := l.Append(ctx, drafts("app.bench", 1000)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	read := 0
	for i := 0; i < b.N; i++ {
		after := uint64(0)
		for after < total {
			evs, next, err := l.Read(ctx, after, nil, 1000)
			if err != nil {
				b.Fatal(err)
			}
			read += len(evs)
			after = next
		}
	}
	b.ReportMetric(float64(read)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkReadSmall reads the last 1, 10 or 256 events of the log, as a
// stream just behind the window catches up or a pull API reads a page: a
// read should cost what its answer costs, not a fixed price per call.
func BenchmarkReadSmall(b *testing.B) {
	l := openTest(b, Config{})
	ctx := context.Background()
	const total = 1000
	if _, err := l.Append(ctx, drafts("app.bench", total)); err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1, 10, 256} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				evs, _, err := l.Read(ctx, total-uint64(n), nil, n)
				if err != nil || len(evs) != n {
					b.Fatalf("%d events, %v", len(evs), err)
				}
			}
		})
	}
}

// Batches of 500 events with publisher-chosen ids, each appended once
// (fresh) or again after it was stored (every one a duplicate, which the
// log answers with the stored event's time): a re-published file should
// cost about what it cost the first time.
func BenchmarkAppendFresh(b *testing.B)      { benchAppendIDs(b, false) }
func BenchmarkAppendDuplicates(b *testing.B) { benchAppendIDs(b, true) }

func benchAppendIDs(b *testing.B, dup bool) {
	const n = 500
	l := openTest(b, Config{})
	ctx := context.Background()
	ds := drafts("app.bench", n)
	batch := 0
	withIDs := func() {
		batch++
		for i := range ds {
			ds[i].ID = fmt.Sprintf("b%d-%d", batch, i)
		}
	}
	withIDs()
	if _, err := l.Append(ctx, ds); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if !dup {
			withIDs()
		}
		acks, err := l.Append(ctx, ds)
		if err != nil {
			b.Fatal(err)
		}
		if acks[0].Duplicate != dup {
			b.Fatalf("duplicate = %t", acks[0].Duplicate)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkBounds asks for the log's first and last positions, as every
// read and every pull that must see what other nodes stored does.
func BenchmarkBounds(b *testing.B) {
	l := openTest(b, Config{})
	ctx := context.Background()
	if _, err := l.Append(ctx, drafts("app.bench", 100)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if first, last, err := l.Bounds(ctx); err != nil || first != 1 || last != 100 {
			b.Fatalf("%d-%d, %v", first, last, err)
		}
	}
}
