package webhook

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/eventlog"
)

// A stored endpoint whose name resolves to loopback (as a name may come
// to, after it was checked: DNS rebinding) is refused when it is dialled:
// an attempt without an answer, and nothing reaches the receiver.
func TestDeliveryRefusedAtDialTime(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	svc, err := Open(context.Background(), c.Core, Config{Schedule: []time.Duration{0, time.Hour}, CommitEvery: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("a refused address was reached") }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	admin, err := c.Auth.Authenticate(context.Background(), c.Key(t, auth.Spec{Name: "a", Admin: true}))
	if err != nil {
		t.Fatal(err)
	}
	u := "https://example.org/"
	made, err := svc.Create(context.Background(), admin, Spec{URL: &u, Topics: []string{"app.>"}})
	if err != nil {
		t.Fatal(err)
	}
	// Once its job runs (a definition changed while its lease is being
	// taken waits for the lease to time out).
	for {
		if _, err := c.Leases.Holder(context.Background(), leasePrefix+made.ID); err == nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	// What creation refuses, stored behind its back: the dial must refuse it too.
	ent, err := svc.kv.Get(context.Background(), endpointPrefix+made.ID)
	if err != nil {
		t.Fatal(err)
	}
	var r record
	json.Unmarshal(ent.Value, &r)
	r.URL = "http://localhost:" + port + "/"
	b, _ := json.Marshal(&r)
	if _, err := svc.kv.Update(context.Background(), endpointPrefix+made.ID, b, ent.Revision); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Append(context.Background(), "native", []eventlog.Draft{{Topic: "app.x", Type: "t", Data: []byte(`{}`)}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := svc.State(context.Background(), admin, made.ID)
		if err == nil && len(st.Attempts) > 0 {
			a := st.Attempts[0]
			if a.Status != 0 || a.Outcome() != "error" || !strings.Contains(a.Error, "refused by the address policy") {
				t.Fatalf("attempt %+v", a)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no attempt")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
