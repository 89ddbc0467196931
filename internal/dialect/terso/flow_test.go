package terso

import (
	"fmt"
	"net/http"
	"testing"
)

// The documented Get Events example (seed 001 with the casing of the SDK
// and the docs' rule that device events have Version 2).
var documented = []struct{ device, typ, data string }{
	{"MyDeviceName1", "CommandCompletionEvent", `{"CommandId":"2bf00848-b06a-4820-86fc-58c12e08ee3e","CommandName":"SetConfigValuesCommand","OutputParameterList":[],"ExceptionList":[],"Device":"MyDeviceName1","ReceivedTime":"2018-05-19T01:16:23Z","Type":"CommandCompletionEvent","EventId":"93723c89-cb44-44f0-8d86-87ede0fb3ba6","EventTime":"2018-05-19T01:16:19Z","Version":2}`},
	{"MyDeviceName1", "CommandQueuedEvent", `{"Device":"MyDeviceName1","CommandId":"2bf00848-b06a-4820-86fc-58c12e08ee3e","CommandName":"SetConfigValuesCommand","Uri":"/2/devices/MyDeviceName1/policy/sync","Verb":"POST","User":"MyUserName","Parameters":[{"Key":"AggregateEventScanCount","Value":"4"}],"Type":"CommandQueuedEvent","EventId":"f3df515b-c53a-4b3b-b3e9-01ffe6ffd8f3","EventTime":"2018-05-19T01:16:21Z","Version":3}`},
	{"MyDeviceName2", "HeartbeatEvent", `{"Device":"MyDeviceName2","ReceivedTime":"2018-05-19T01:19:44Z","Type":"HeartbeatEvent","EventId":"b55cf245-4a17-438e-8b12-538c3ef6f536","EventTime":"2018-05-19T01:19:43Z","Version":2}`},
	{"MyDeviceName1", "HeartbeatEvent", `{"Device":"MyDeviceName1","ReceivedTime":"2018-05-19T02:05:40Z","Type":"HeartbeatEvent","EventId":"9e5d2294-655e-4a11-ba02-e504b435e75f","EventTime":"2018-05-19T02:05:36Z","Version":2}`},
	{"MyDeviceName1", "SensorReadingEvent", `{"SensorReadings":[{"Name":"TemperatureA","Value":"-16","ReadingTime":"2018-05-19T02:06:25Z"},{"Name":"TemperatureB","Value":"-61","ReadingTime":"2018-05-19T02:06:25Z"}],"Device":"MyDeviceName1","ReceivedTime":"2018-05-19T02:06:28Z","Type":"SensorReadingEvent","EventId":"66524199-0c71-40d2-a36a-c05983b70355","EventTime":"2018-05-19T02:06:25Z","Version":2}`},
}

func (e *env) appendDocumented() {
	e.t.Helper()
	for _, d := range documented {
		e.append(d.device, d.typ, d.data)
	}
}

// TestSDKFlow runs Get Events and Delete Events exactly as the official
// .NET SDK does: subscribe → get → delete batch → get.
func TestSDKFlow(t *testing.T) {
	e := setup(t, Config{})
	u := e.addUser(`{"name":"warehouse"}`)
	if len(u.AccessKey) != 36 {
		t.Fatalf("access key %q", u.AccessKey)
	}
	// Events before the subscription are not queued for it.
	e.append("MyDeviceName1", "HeartbeatEvent", heartbeat("MyDeviceName1", guid(99)))

	// GetEventsAsync(): GET {base}3/events/100.
	var first eventsDto
	r := e.sdk("GET", "/3/events/100", u.AccessKey, "", &first)
	if r.status != http.StatusOK || first.Count != 0 || first.Events == nil || len(first.Events) != 0 || first.BatchID == "" {
		t.Fatalf("subscribe: %d %s", r.status, r.body)
	}
	golden(t, "subscribe.json", r.body)

	e.appendDocumented()
	var got eventsDto
	r = e.sdk("GET", "/3/events/5", u.AccessKey, "", &got)
	if r.status != http.StatusOK || got.Count != 5 || len(got.Events) != 5 {
		t.Fatalf("get: %d %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Fatalf("Content-Type %q", ct)
	}
	// Stored once in the wire shape: delivery is a copy of the documented bytes.
	for i, d := range documented {
		if string(got.Events[i]) != d.data {
			t.Fatalf("event %d:\n got %s\nwant %s", i, got.Events[i], d.data)
		}
	}
	golden(t, "get_events.json", r.body)

	// Returned, not dequeued: the same events again, under the same batch.
	var again eventsDto
	e.sdk("GET", "/3/events/100", u.AccessKey, "", &again)
	if again.BatchID != got.BatchID || fmt.Sprint(again.ids(t)) != fmt.Sprint(got.ids(t)) {
		t.Fatalf("redelivery: %+v", again)
	}

	// DeleteEventsAsync(): Newtonsoft serialises the unused field as null.
	r = e.sdk("DELETE", "/3/events", u.AccessKey, `{"BatchId":"`+got.BatchID+`","EventIds":null}`, nil)
	if r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("delete: %d %q", r.status, r.body)
	}
	var empty eventsDto
	e.sdk("GET", "/3/events/100", u.AccessKey, "", &empty)
	if empty.Count != 0 || len(empty.Events) != 0 || empty.BatchID == got.BatchID {
		t.Fatalf("after delete: %+v", empty)
	}
	// Deleting the same batch again is harmless (clients retry).
	if r := e.sdk("DELETE", "/3/events", u.AccessKey, `{"BatchId":"`+got.BatchID+`"}`, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete again: %d %s", r.status, r.body)
	}

	// The next event; deleted with PATCH (v3's alternative verb).
	e.append("MyDeviceName2", "HeartbeatEvent", heartbeat("MyDeviceName2", guid(7)))
	var next eventsDto
	e.sdk("GET", "/3/events", u.AccessKey, "", &next)
	if next.Count != 1 || next.ids(t)[0] != guid(7) {
		t.Fatalf("next: %+v", next)
	}
	if r := e.sdk("PATCH", "/3/events", u.AccessKey, `{"BatchId":"`+next.BatchID+`"}`, nil); r.status != http.StatusNoContent {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	e.sdk("GET", "/3/events", u.AccessKey, "", &empty)
	if empty.Count != 0 {
		t.Fatalf("after patch: %+v", empty)
	}
}

// TestLimit: the limit bounds a batch; an unacknowledged batch comes back
// whole, and the rest follows once it is deleted.
func TestLimit(t *testing.T) {
	e := setup(t, Config{})
	u := e.addUser(`{"name":"l"}`)
	e.sdk("GET", "/3/events", u.AccessKey, "", nil)
	for i := range 7 {
		e.append("dev", "HeartbeatEvent", heartbeat("dev", guid(i)))
	}
	var b1, b2, b3 eventsDto
	e.sdk("GET", "/3/events/3", u.AccessKey, "", &b1)
	if fmt.Sprint(b1.ids(t)) != fmt.Sprint([]string{guid(0), guid(1), guid(2)}) {
		t.Fatalf("limit 3: %v", b1.ids(t))
	}
	e.sdk("DELETE", "/3/events", u.AccessKey, `{"BatchId":"`+b1.BatchID+`"}`, nil)
	e.sdk("GET", "/3/events?limit=2", u.AccessKey, "", &b2) // the query form of limit
	if fmt.Sprint(b2.ids(t)) != fmt.Sprint([]string{guid(3), guid(4)}) {
		t.Fatalf("limit 2: %v", b2.ids(t))
	}
	e.sdk("DELETE", "/3/events", u.AccessKey, `{"BatchId":"`+b2.BatchID+`"}`, nil)
	e.sdk("GET", "/3/events", u.AccessKey, "", &b3)
	if fmt.Sprint(b3.ids(t)) != fmt.Sprint([]string{guid(5), guid(6)}) {
		t.Fatalf("default limit: %v", b3.ids(t))
	}
}
