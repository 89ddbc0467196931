package deliver_test

import (
	"testing"

	"github.com/herald-io/herald/internal/dialect/dialecttest"
)

// A parked poll's wait outlasts the delayed-ACK timer, which takes the
// socket out of delayed ACKs; once answered, the connection is put back,
// so that reading the next request sends no ACK of its own.
func TestParkedPollAnswerDelaysAcks(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	cl := dial(t, pollServer(t, c))
	for i := range 2 { // parked by net/http's, then by the engine's request
		cl.send("GET /p?after=0&wait=300ms HTTP/1.1\r\nHost: x\r\n\r\n")
		if _, body := cl.read("GET"); body != "ids  next 0" {
			t.Fatalf("poll %d: %q", i, body)
		}
		waitFor(t, "the connection to be idle", func() bool { return c.Deliver.IdleConns() == 1 })
		n, err := c.Deliver.IdleConnsQuickAck()
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("poll %d: the idle connection ACKs at once", i)
		}
	}
}
