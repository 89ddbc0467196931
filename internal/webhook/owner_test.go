package webhook_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/webhook"
)

// A webhook made by a key delivers only while that key exists: once it is
// revoked, the endpoint stops, says why, and delivers nothing more of what
// the key may no longer read.
func TestRevokedOwnerStopsDeliveries(t *testing.T) {
	e := newEnv(t, webhook.Config{OwnerCheckEvery: time.Millisecond})
	rc := newReceiver(t, func(int, http.ResponseWriter) int { return 204 })
	owner := key(t, e.c, auth.Spec{Name: "owner", Subscribe: []string{"app.>"}})
	s, err := webhook.ParseSpec([]byte(`{"url":"` + rc.srv.URL + `/hook","topics":["app.>"]}`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.svc.Create(context.Background(), owner, s)
	if err != nil {
		t.Fatal(err)
	}
	e.publish(t, "app.door", 1)
	waitFor(t, "the first delivery", func() bool { return len(rc.got()) == 1 })
	if err := e.c.Auth.Revoke(context.Background(), owner.ID); err != nil {
		t.Fatal(err)
	}
	e.publish(t, "app.door", 3)
	var v webhook.View
	waitFor(t, "the endpoint to stop", func() bool {
		v, err = e.svc.Get(context.Background(), e.admin, c.ID)
		return err == nil && v.Status.Failing
	})
	if !strings.Contains(v.Status.LastError, "revoked") {
		t.Fatalf("status %+v", v.Status)
	}
	time.Sleep(50 * time.Millisecond)
	if n := len(rc.got()); n != 1 {
		t.Fatalf("%d deliveries after the owner was revoked, want none past the first", n-1)
	}
}
