package dialecttest

import (
	"testing"

	"github.com/herald-io/herald/internal/devcluster"
	"github.com/herald-io/herald/internal/eventlog"
)

// EachLog runs f as a subtest on the embedded log ("embedded") and on a
// log replicated on a three-server loopback cluster ("replicated",
// opts.Log.Replicas > 1; skipped in -short mode), whose reads scan the
// whole stream. f builds its cores with opts; the cluster stops after
// they close.
func EachLog(t *testing.T, f func(t *testing.T, opts Options)) {
	t.Run("embedded", func(t *testing.T) { f(t, Options{}) })
	t.Run("replicated", func(t *testing.T) {
		if testing.Short() {
			t.Skip("starts a three-server cluster")
		}
		c, err := devcluster.Start(t.TempDir(), 3)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Shutdown) // registered first: runs after the cores' cleanups
		f(t, Options{Log: eventlog.Config{URLs: c.URLs(), Replicas: 3}})
	})
}
