package terso

import (
	"testing"
	"time"
)

// TestIdleExpiry: a subscription not read for 30 days is removed with its
// pending events; the next Get subscribes anew. Reading, even when nothing
// is pending, keeps it alive.
func TestIdleExpiry(t *testing.T) {
	e := setup(t, Config{})
	u := e.addUser(`{"name":"idle"}`)
	e.sdk("GET", "/3/events", u.AccessKey, "", nil)

	// Empty polls every 20 days keep it alive for 60.
	for range 3 {
		e.clock.Advance(20 * 24 * time.Hour)
		var d eventsDto
		if r := e.sdk("GET", "/3/events", u.AccessKey, "", &d); r.status != 200 {
			t.Fatalf("poll: %d %s", r.status, r.body)
		}
	}
	e.append("dev", "HeartbeatEvent", heartbeat("dev", guid(1)))
	var d eventsDto
	e.sdk("GET", "/3/events", u.AccessKey, "", &d)
	if d.Count != 1 {
		t.Fatalf("still subscribed: %+v", d)
	}

	// 30 days and a second without a Get: gone, pending event and all.
	e.clock.Advance(DefaultIdleTTL + time.Second)
	if n, err := e.core.Cursors.Sweep(t.Context()); err != nil || n != 1 {
		t.Fatalf("sweep = %d, %v", n, err)
	}
	var users struct{ Users []User }
	e.do("GET", "/v1/jetstream/users", map[string]string{"Authorization": "Bearer " + e.admin}, "", &users)
	if len(users.Users) != 1 || users.Users[0].Subscribed {
		t.Fatalf("users after expiry: %+v", users)
	}
	e.sdk("GET", "/3/events", u.AccessKey, "", &d)
	if d.Count != 0 {
		t.Fatalf("resubscribe returned events: %+v", d)
	}
	e.append("dev", "HeartbeatEvent", heartbeat("dev", guid(2)))
	e.sdk("GET", "/3/events", u.AccessKey, "", &d)
	if d.Count != 1 || d.ids(t)[0] != guid(2) {
		t.Fatalf("after resubscribing: %v", d.ids(t))
	}
}

// TestIdleTTLConfigurable: a shorter TTL expires sooner, and without a
// sweep the next Get finds the subscription gone all the same.
func TestIdleTTLConfigurable(t *testing.T) {
	e := setup(t, Config{IdleTTL: time.Hour})
	u := e.addUser(`{"name":"short"}`)
	e.sdk("GET", "/3/events", u.AccessKey, "", nil)
	e.append("dev", "HeartbeatEvent", heartbeat("dev", guid(1)))
	e.clock.Advance(59 * time.Minute)
	var d eventsDto
	e.sdk("GET", "/3/events", u.AccessKey, "", &d)
	if d.Count != 1 {
		t.Fatalf("within the TTL: %+v", d)
	}
	e.clock.Advance(61 * time.Minute)
	e.sdk("GET", "/3/events", u.AccessKey, "", &d)
	if d.Count != 0 {
		t.Fatalf("after the TTL the pending event must be gone: %+v", d)
	}
}
