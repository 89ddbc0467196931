package terso

import (
	"fmt"
	"testing"

	"github.com/herald-io/herald/internal/dialect/dialecttest"
)

// TestFilterPastOtherEvents: a filtered Get, and a deletion by EventId,
// find a device's pending event behind many of other devices, some the
// user may not see, read from the log — also on a replicated log,
// whose reads scan the whole stream and filter (a page without a match was
// taken for the end).
func TestFilterPastOtherEvents(t *testing.T) {
	dialecttest.EachLog(t, func(t *testing.T, opts dialecttest.Options) {
		e := setupOn(t, opts, Config{}, nil)
		u := e.addUser(`{"name":"scoped","devices":["a","b"]}`)
		e.sdk("GET", "/3/events", u.AccessKey, "", nil)
		for i := range 20 {
			e.append("a", "HeartbeatEvent", heartbeat("a", guid(i)))
		}
		for i := range 20 {
			e.append("c", "HeartbeatEvent", heartbeat("c", guid(100+i))) // not the user's
		}
		e.append("b", "HeartbeatEvent", heartbeat("b", guid(20)))
		if opts.Log.Replicas > 1 {
			// A node started now holds none of them in its hub's
			// window: it reads them from the log.
			e = setupOn(t, opts, Config{}, nil)
		}

		var d eventsDto
		if r := e.sdk("GET", "/3/events/1?device=b", u.AccessKey, "", &d); r.status != 200 || fmt.Sprint(d.ids(t)) != ids(20) {
			t.Fatalf("device=b: %d %v", r.status, d.ids(t))
		}
		// Delete the b event by its id: the a events are left.
		if r := e.sdk("DELETE", "/3/events", u.AccessKey, idsBody(20), nil); r.status != 204 {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		var a []int
		for i := range 20 {
			a = append(a, i)
		}
		if r := e.sdk("GET", "/3/events/100", u.AccessKey, "", &d); r.status != 200 || fmt.Sprint(d.ids(t)) != ids(a...) {
			t.Fatalf("after deleting b: %d %v", r.status, d.ids(t))
		}
	})
}
