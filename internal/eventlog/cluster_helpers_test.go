package eventlog_test

import (
	"context"
	"testing"

	"github.com/herald-io/herald/internal/devcluster"
	"github.com/herald-io/herald/internal/eventlog"
)

// startCluster starts a three-server cluster, shut down when tb ends.
func startCluster(tb testing.TB) *devcluster.Cluster {
	tb.Helper()
	if testing.Short() {
		tb.Skip("starts a three-server cluster")
	}
	c, err := devcluster.Start(tb.TempDir(), 3)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Shutdown)
	return c
}

// openOn opens the three-replica log through the servers at urls only,
// closed when tb ends.
func openOn(ctx context.Context, tb testing.TB, urls ...string) *eventlog.Log {
	tb.Helper()
	l, err := eventlog.Open(ctx, eventlog.Config{URLs: urls, Replicas: 3})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	return l
}

// leaderOf returns the index in c of the server holding l's leader.
func leaderOf(ctx context.Context, tb testing.TB, c *devcluster.Cluster, l *eventlog.Log) int {
	tb.Helper()
	info, err := l.Cluster(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	i := c.Index(info.Leader)
	if i < 0 {
		tb.Fatalf("leader %q is none of the cluster's servers", info.Leader)
	}
	return i
}
