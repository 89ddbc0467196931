package logtest_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/herald-io/herald/internal/logtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRecords(t *testing.T) {
	b, log := logtest.New()
	log.Info("a", "n", 1)
	log.Debug("b")
	go log.Info("a", "n", 2) // written after Wait starts looking, or before
	if got := b.Wait(t, "a", func(m map[string]any) bool { return m["n"] == 2.0 }); got["level"] != "INFO" {
		t.Fatalf("record %v", got)
	}
	if n := len(b.Records(t, "a")); n != 2 {
		t.Fatalf("%d records of a, want 2", n)
	}
	if n := len(b.Records(t, "b")); n != 1 {
		t.Fatalf("%d records of b, want 1 (debug is kept)", n)
	}
}
