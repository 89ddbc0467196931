package eventlog

import (
	"context"
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
