package terso

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestBadInputChangesNothing: every malformed request gets Jetstream's
// error shape with the right status, and the pending batch is as before.
func TestBadInputChangesNothing(t *testing.T) {
	e := setup(t, Config{})
	u := e.addUser(`{"name":"bad"}`)
	e.sdk("GET", "/3/events", u.AccessKey, "", nil)
	e.append("dev", "HeartbeatEvent", heartbeat("dev", guid(1)), heartbeat("dev", guid(2)))
	var before eventsDto
	e.sdk("GET", "/3/events", u.AccessKey, "", &before)

	many := make([]string, MaxDeleteEvents+1)
	for i := range many {
		many[i] = `"` + guid(i) + `"`
	}
	ak := u.AccessKey
	for _, c := range []struct {
		name, method, path, accessKey, body string
		status                              int
	}{
		{"no_access_key", "GET", "/3/events", "", "", 401},
		{"unknown_access_key", "GET", "/3/events", guid(42), "", 401},
		{"malformed_access_key", "GET", "/3/events", "not-a-guid", "", 401},
		{"limit_zero", "GET", "/3/events/0", ak, "", 400},
		{"limit_too_big", "GET", "/3/events/513", ak, "", 400},
		{"limit_not_a_number", "GET", "/3/events/ten", ak, "", 400},
		{"limit_query_too_big", "GET", "/3/events?limit=1000", ak, "", 400},
		{"type_not_a_token", "GET", "/3/events?type=a.b", ak, "", 400},
		{"device_wildcard", "GET", "/3/events?device=*", ak, "", 400},
		{"eventversion_not_a_number", "GET", "/3/events?eventversion=x", ak, "", 400},
		{"repeated_param", "GET", "/3/events?device=a&device=b", ak, "", 400},
		{"delete_both", "DELETE", "/3/events", ak, `{"BatchId":"` + before.BatchID + `","EventIds":["` + guid(1) + `"]}`, 400},
		{"delete_neither", "DELETE", "/3/events", ak, `{}`, 400},
		{"delete_both_null", "DELETE", "/3/events", ak, `{"BatchId":null,"EventIds":null}`, 400},
		{"delete_no_body", "DELETE", "/3/events", ak, ``, 400},
		{"delete_not_json", "DELETE", "/3/events", ak, `BatchId=x`, 400},
		{"delete_trailing", "DELETE", "/3/events", ak, `{"BatchId":"` + before.BatchID + `"} {}`, 400},
		{"delete_bad_batch_id", "PATCH", "/3/events", ak, `{"BatchId":"abc"}`, 400},
		{"delete_bad_event_id", "DELETE", "/3/events", ak, `{"EventIds":["` + guid(1) + `","x"]}`, 400},
		{"delete_empty_event_ids", "DELETE", "/3/events", ak, `{"EventIds":[]}`, 400},
		{"delete_too_many", "DELETE", "/3/events", ak, `{"EventIds":[` + strings.Join(many, ",") + `]}`, 400},
		{"delete_too_large", "DELETE", "/3/events", ak, `{"EventIds":["` + strings.Repeat("x", MaxBody) + `"]}`, 413},
		{"method_not_allowed", "PUT", "/3/events", ak, ``, 405},
		{"no_such_resource", "GET", "/3/devices", ak, ``, 404},
	} {
		t.Run(c.name, func(t *testing.T) {
			hdr := map[string]string{"Content-Type": "application/json"}
			if c.accessKey != "" {
				hdr["AccessKey"] = c.accessKey
			}
			r := e.do(c.method, c.path, hdr, c.body, nil)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			if c.status == 413 {
				return // the message names the limit; nothing more to pin
			}
			golden(t, "error_"+c.name+".json", r.body)
		})
	}
	if r := e.do("PUT", "/3/events", map[string]string{"AccessKey": ak}, "", nil); r.header.Get("Allow") != "GET, DELETE, PATCH" {
		t.Fatalf("Allow %q", r.header.Get("Allow"))
	}
	var after eventsDto
	e.sdk("GET", "/3/events", u.AccessKey, "", &after)
	if after.BatchID != before.BatchID || fmt.Sprint(after.ids(t)) != fmt.Sprint(before.ids(t)) || after.Count != 2 {
		t.Fatalf("state changed: before %+v after %+v", before, after)
	}
}

func TestRateLimit(t *testing.T) {
	e := setup(t, Config{})
	u := e.addUser(`{"name":"slow","rate":0.001}`) // burst = a few requests, then none for a long time
	limited := false
	for range 50 {
		r := e.sdk("GET", "/3/events", u.AccessKey, "", nil)
		if r.status == http.StatusTooManyRequests {
			if r.header.Get("Retry-After") == "" || !strings.Contains(string(r.body), `"Message"`) {
				t.Fatalf("429 without Retry-After or message: %v %s", r.header, r.body)
			}
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("never rate limited")
	}
}
