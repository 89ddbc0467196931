package devcluster

import (
	"net"
	"strconv"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Servers listen where they are told: client ports from Ports.Client on,
// cluster ports from Ports.Cluster on.
func TestStartOnPorts(t *testing.T) {
	// Two consecutive free ports.
	pair := func() int {
		for range 50 {
			free, err := freePorts(1)
			if err != nil {
				t.Fatal(err)
			}
			if ok(free[0] + 1) {
				return free[0]
			}
		}
		t.Fatal("no two consecutive free ports on loopback")
		return 0
	}
	client := pair()
	c, err := StartOn(t.TempDir(), 2, Ports{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	urls := c.URLs()
	for i, u := range urls {
		if want := "nats://127.0.0.1:" + strconv.Itoa(client+i); u != want {
			t.Errorf("server %d at %s, want %s", i, u, want)
		}
	}
}

func ok(port int) bool {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}
