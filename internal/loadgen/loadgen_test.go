package loadgen

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
)

// A short run against an in-process server: every subscriber gets every
// event once, and the report adds up. (No timing is asserted.)
func TestRun(t *testing.T) {
	s := servertest.Start(t, server.Config{})
	res, err := Run(context.Background(), Config{
		URL: s.URL(), Key: s.Admin, Subscribers: 20, Publishers: 2, Rate: 200,
		Duration: 500 * time.Millisecond, ServerPID: os.Getpid(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Published == 0 || res.Missing != 0 || res.Duplicates != 0 {
		t.Fatalf("result %+v", res)
	}
	if res.Delivered != res.Published*20 {
		t.Fatalf("delivered %d, want %d", res.Delivered, res.Published*20)
	}
	if res.LatencyP99ms <= 0 || res.LatencyMaxms < res.LatencyP50ms || res.ServerCPUus <= 0 {
		t.Fatalf("implausible measurements: %+v", res)
	}
}

func TestRunRejectedKey(t *testing.T) {
	s := servertest.Start(t, server.Config{})
	_, err := Run(context.Background(), Config{URL: s.URL(), Key: "wrong", Subscribers: 2, Duration: time.Second})
	if err == nil {
		t.Fatal("a run with a wrong key succeeded")
	}
}
