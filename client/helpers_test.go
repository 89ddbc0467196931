package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/herald-io/herald/client"
	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
)

// testServer is a real herald running in the test process (servertest).
type testServer struct{ *servertest.Server }

func startServer(t testing.TB, cfg server.Config) *testServer {
	t.Helper()
	ts := &testServer{servertest.Start(t, cfg)}
	if ts.Admin == "" {
		t.Fatal("a fresh server made no admin key")
	}
	return ts
}

// adminClient returns a client with the admin key.
func (ts *testServer) adminClient() *client.Client {
	return client.New(ts.URL(), ts.Admin)
}

// keyClient creates a key from spec and returns a client using it.
func (ts *testServer) keyClient(spec client.KeySpec) *client.Client {
	ts.T.Helper()
	_, token, err := ts.adminClient().CreateKey(context.Background(), spec)
	if err != nil {
		ts.T.Fatalf("create key %q: %v", spec.Name, err)
	}
	return client.New(ts.URL(), token)
}

// drafts returns n drafts on topic with data {"n":from+i} and fresh ids.
func drafts(topic string, from, n int) []client.Draft {
	ds := make([]client.Draft, n)
	for i := range ds {
		ds[i] = client.Draft{
			Topic: topic,
			Type:  "test",
			Data:  json.RawMessage(fmt.Sprintf(`{"n":%d}`, from+i)),
			ID:    client.NewID(),
		}
	}
	return ds
}

// publish publishes ds and fails the test on error.
func publish(t testing.TB, c *client.Client, ds ...client.Draft) []client.Ack {
	t.Helper()
	acks, err := c.Publish(context.Background(), ds...)
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	return acks
}

// waitVisible waits until event seq can be read. The server acknowledges
// a publish once the log stored it; its read side follows a moment later.
func waitVisible(t testing.TB, c *client.Client, seq uint64) {
	t.Helper()
	evs, _, err := c.Poll(context.Background(), client.PollOptions{After: new(seq - 1), Limit: 1, Wait: 10 * time.Second})
	if err != nil || len(evs) != 1 || evs[0].Seq != seq {
		t.Fatalf("event %d not readable: %v, %v", seq, evs, err)
	}
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}
