package hue

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/eventlog"
)

func TestPutLightEmitsUpdates(t *testing.T) {
	b := newBridge(t, Config{})
	lamp := b.addDevice("color_lamp", "Desk")
	light := lamp["light"][0]
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stream := b.aiohueStream(ctx)

	r := b.hue("PUT", "/clip/v2/resource/light/"+light, `{"on":{"on":true},"dimming":{"brightness":50}}`)
	if r.status != 200 {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	if got := string(r.body); got != `{"errors":[],"data":[{"rid":"`+light+`","rtype":"light"}]}`+"\n" {
		t.Fatalf("PUT answer %s", got)
	}
	items, _ := collect(t, stream, 2)
	l, g := items[0], items[1]
	if l["id"] != light || l["type"] != "light" || str(sub(l, "owner"), "rid") != lamp["device"][0] ||
		sub(l, "on")["on"] != true || sub(l, "dimming")["brightness"] != 50.0 || l["id_v1"] != "/lights/1" {
		t.Fatalf("light update %v", l)
	}
	// Only changed fields: nothing else of the light is carried.
	for k := range l {
		switch k {
		case "id", "id_v1", "type", "owner", "service_id", "on", "dimming":
		default:
			t.Fatalf("unchanged field %q in update %v", k, l)
		}
	}
	if g["type"] != "grouped_light" || sub(g, "on")["on"] != true || sub(g, "dimming")["brightness"] != 50.0 {
		t.Fatalf("grouped_light update %v", g)
	}
	// The state is stored.
	got := b.resources("light")[0]
	if sub(got, "on")["on"] != true || sub(got, "dimming")["brightness"] != 50.0 {
		t.Fatalf("stored %v", got)
	}
	// The same PUT again changes nothing and emits nothing: the next item
	// on the stream is the colour change.
	b.hue("PUT", "/clip/v2/resource/light/"+light, `{"on":{"on":true}}`)
	b.hue("PUT", "/clip/v2/resource/light/"+light, `{"color":{"xy":{"x":0.3,"y":0.3}}}`)
	items, _ = collect(t, stream, 1)
	if c := sub(items[0], "color"); c == nil || sub(items[0], "color_temperature")["mirek_valid"] != false {
		t.Fatalf("colour update %v", items[0])
	}
	// A grouped_light PUT reaches the lights.
	home := b.resources("grouped_light")[0]
	b.hue("PUT", "/clip/v2/resource/grouped_light/"+str(home, "id"), `{"on":{"on":false}}`)
	items, _ = collect(t, stream, 2)
	kinds := map[string]bool{}
	for _, it := range items {
		if sub(it, "on")["on"] == false {
			kinds[str(it, "type")] = true
		}
	}
	if !kinds["light"] || !kinds["grouped_light"] {
		t.Fatalf("group PUT events %v", items)
	}
}

func TestPressButton(t *testing.T) {
	b := newBridge(t, Config{})
	sw := b.addDevice("dimmer_switch", "Hall")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stream := b.aiohueStream(ctx)
	b.adminDo("/v1/hue/press", `{"button":"Hall","control_id":2}`)
	items, _ := collect(t, stream, 2)
	want := []string{"initial_press", "short_release"}
	for i, it := range items {
		btn := sub(it, "button")
		if it["id"] != sw["button"][1] || btn["last_event"] != want[i] || sub(btn, "button_report")["event"] != want[i] ||
			str(sub(btn, "button_report"), "updated") == "" || str(sub(it, "owner"), "rid") != sw["device"][0] {
			t.Fatalf("item %d: %v", i, it)
		}
	}
	// The final state is stored.
	r := b.hue("GET", "/clip/v2/resource/button/"+sw["button"][1], "")
	if !strings.Contains(string(r.body), `"last_event":"short_release"`) {
		t.Fatalf("stored %s", r.body)
	}
	// A long press, by button id.
	b.adminDo("/v1/hue/press", `{"button":"`+sw["button"][0]+`","action":"long","repeats":2}`)
	items, _ = collect(t, stream, 5)
	var got []string
	for _, it := range items {
		got = append(got, str(sub(sub(it, "button"), "button_report"), "event"))
	}
	if strings.Join(got, ",") != "initial_press,long_press,repeat,repeat,long_release" {
		t.Fatalf("long press %v", got)
	}
}

func TestResumeWithLastEventID(t *testing.T) {
	b := newBridge(t, Config{})
	b.addDevice("smart_button", "Door")
	ctx, cancel := context.WithCancel(t.Context())
	stream := b.aiohueStream(ctx)
	b.adminDo("/v1/hue/press", `{"button":"Door"}`)
	_, msgs := collect(t, stream, 2)
	last := msgs[len(msgs)-1].id
	cancel() // disconnect
	for range stream {
	}

	b.adminDo("/v1/hue/press", `{"button":"Door","action":"double"}`)
	b.adminDo("/v1/hue/press", `{"button":"Door","action":"long","repeats":1}`)
	// Something after the two presses tells the reader where they end.
	b.adminDo("/v1/hue/sensor", `{"device":"Door","battery":50}`)

	ctx2, cancel2 := context.WithCancel(t.Context())
	defer cancel2()
	items, msgs := collect(t, b.aiohueStream(ctx2, "Last-Event-ID: "+last), 9)
	var got []string
	for _, it := range items {
		if it["type"] == "button" {
			got = append(got, str(sub(sub(it, "button"), "button_report"), "event"))
		} else {
			got = append(got, str(it, "type"))
		}
	}
	want := "initial_press,short_release,initial_press,double_short_release,initial_press,long_press,repeat,long_release,device_power"
	if strings.Join(got, ",") != want {
		t.Fatalf("resumed:\n got %v\nwant %s", got, want)
	}
	// Ids grow; each names its last event's sequence.
	prev := last
	for _, m := range msgs {
		_, p, _ := parseEventID(prev)
		_, s, err := parseEventID(m.id)
		if err != nil || s <= p {
			t.Fatalf("id %q after %q", m.id, prev)
		}
		prev = m.id
	}

	// Long-poll resume with If-None-Match from the same point: the same
	// events, and an ETag to continue from.
	r := b.do("GET", "/eventstream/clip/v2", "", appKeyHeader+": "+b.app, "Accept: application/json", "If-None-Match: "+last)
	var evs []hueEvent
	r.decode(t, &evs)
	n := 0
	for _, e := range evs {
		n += len(e.Data)
	}
	if r.status != 200 || n != 9 || r.header.Get("ETag") != `"`+prev+`"` {
		t.Fatalf("long-poll: %d items %d etag %s (want %s)", r.status, n, r.header.Get("ETag"), prev)
	}
}

func TestLongPollWaits(t *testing.T) {
	b := newBridge(t, Config{})
	b.addDevice("motion_sensor", "Hall sensor")
	done := make(chan []hueEvent)
	go func() {
		r := b.do("GET", "/eventstream/clip/v2", "", appKeyHeader+": "+b.app)
		var evs []hueEvent
		json.Unmarshal(r.body, &evs)
		done <- evs
	}()
	// The poll starts "now", which may be after a report made before it
	// arrived, so keep reporting until it answers.
	for i := 0; ; i++ {
		b.adminDo("/v1/hue/sensor", `{"device":"Hall sensor","motion":`+map[bool]string{true: "true", false: "false"}[i%2 == 0]+`}`)
		select {
		case evs := <-done:
			if len(evs) == 0 || evs[0].Type != "update" || evs[0].Data[0]["type"] != "motion" {
				t.Fatalf("long-poll %+v", evs)
			}
			return
		case <-t.Context().Done():
			return
		default:
		}
		if i > 1000 {
			t.Fatal("long-poll never answered")
		}
	}
}

func TestResumeByTimestamp(t *testing.T) {
	b := newBridge(t, Config{})
	b.addDevice("smart_button", "B")
	b.adminDo("/v1/hue/press", `{"button":"B"}`)
	// "<ts>:0" (the spec's form) from long ago: everything on hue topics.
	r := b.do("GET", "/eventstream/clip/v2", "", appKeyHeader+": "+b.app, "Accept: application/json", `If-None-Match: "1:0"`)
	var evs []hueEvent
	r.decode(t, &evs)
	var kinds []string
	for _, e := range evs {
		kinds = append(kinds, e.Type)
	}
	// add events of the device, the home update, then two button updates.
	if len(evs) < 4 || evs[0].Type != "add" || evs[len(evs)-1].Type != "update" {
		t.Fatalf("by time: %v", kinds)
	}
}

func TestEventStreamErrors(t *testing.T) {
	b := newBridge(t, Config{})
	for _, tc := range []struct {
		headers []string
		status  int
	}{
		{[]string{"Accept: text/html"}, 406},
		{[]string{"Accept: text/event-stream", "Last-Event-ID: x:y"}, 400},
		{[]string{"Accept: application/json", "If-None-Match: -1:0"}, 400},
	} {
		r := b.do("GET", "/eventstream/clip/v2", "", append(tc.headers, appKeyHeader+": "+b.app)...)
		var env envelope
		r.decode(t, &env)
		if r.status != tc.status || len(env.Errors) != 1 || env.Errors[0].Description == "" {
			t.Fatalf("%v: %d %s", tc.headers, r.status, r.body)
		}
	}
	if r := b.do("POST", "/eventstream/clip/v2", "", appKeyHeader+": "+b.app); r.status != 405 || r.header.Get("Allow") != "GET" {
		t.Fatalf("POST eventstream: %d", r.status)
	}
}

// TestStreamOpensAndKeepsAlive: the stream opens with ": hi" at once —
// before any event, so a client sees it is live — and an idle stream gets
// a comment every KeepAlive (clients drop one idle for 90 s).
func TestStreamOpensAndKeepsAlive(t *testing.T) {
	b := newBridge(t, Config{KeepAlive: 100 * time.Millisecond})
	res, lines := b.rawStream(t.Context())
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" ||
		res.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("stream: %d %v", res.StatusCode, res.Header)
	}
	if l := nextLine(t, lines, 5*time.Second); l != ": hi" {
		t.Fatalf("first line %q", l)
	}
	// The fan-out checks idle streams once a second.
	for range 2 {
		if l := nextLine(t, lines, 5*time.Second); l != ": keep-alive" {
			t.Fatalf("idle stream got %q", l)
		}
	}
	if DefaultKeepAlive > 30*time.Second {
		t.Fatalf("default keep-alive %s: clients drop a stream idle for 90 s", DefaultKeepAlive)
	}
}

// TestBatchWindow: changes within the batch window leave in one message,
// as a bridge batches a second's changes; the message's id is the last
// event's.
func TestBatchWindow(t *testing.T) {
	b := newBridge(t, Config{BatchWindow: 2 * time.Second})
	b.addDevice("motion_sensor", "Hall")
	stream := b.aiohueStream(t.Context())
	start := time.Now()
	b.adminDo("/v1/hue/sensor", `{"device":"Hall","motion":true}`)
	b.adminDo("/v1/hue/sensor", `{"device":"Hall","temperature":18.5}`)
	if time.Since(start) > time.Second {
		t.Skip("the machine is too slow for a 2 s window")
	}
	_, msgs := collect(t, stream, 2)
	if len(msgs) != 1 || len(msgs[0].events) != 2 {
		t.Fatalf("%d messages: %+v", len(msgs), msgs)
	}
	evs := msgs[0].events
	if evs[0].Data[0]["type"] != "motion" || evs[1].Data[0]["type"] != "temperature" {
		t.Fatalf("events %+v", evs)
	}
	_, last, _ := b.core.Log.Bounds(t.Context())
	if _, seq, err := parseEventID(msgs[0].id); err != nil || seq != last {
		t.Fatalf("message id %q, last event %d", msgs[0].id, last)
	}
}

// TestLongPollBatchWindow: a long-poll answers what arrives within the
// batch window after its first event, in one array.
func TestLongPollBatchWindow(t *testing.T) {
	b := newBridge(t, Config{BatchWindow: 2 * time.Second})
	b.addDevice("motion_sensor", "Hall")
	_, last, _ := b.core.Log.Bounds(t.Context())
	start := time.Now()
	b.adminDo("/v1/hue/sensor", `{"device":"Hall","motion":true}`)
	done := make(chan resp, 1)
	go func() {
		// From the position before the first report: it is ready at once.
		done <- b.do("GET", "/eventstream/clip/v2", "", appKeyHeader+": "+b.app,
			"Accept: application/json", fmt.Sprintf("Last-Event-ID: %d:%d", start.Unix(), last))
	}()
	b.adminDo("/v1/hue/sensor", `{"device":"Hall","temperature":18.5}`)
	slow := time.Since(start) > time.Second
	r := <-done
	if slow {
		t.Skip("the machine is too slow for a 2 s window")
	}
	var evs []hueEvent
	r.decode(t, &evs)
	if len(evs) != 2 || evs[0].Data[0]["type"] != "motion" || evs[1].Data[0]["type"] != "temperature" {
		t.Fatalf("long-poll: %s", r.body)
	}
}

// TestLongPollTimeout: with nothing new, a long-poll (Accept JSON, any, or
// none) answers an empty array when PollTimeout is over.
func TestLongPollTimeout(t *testing.T) {
	b := newBridge(t, Config{PollTimeout: 200 * time.Millisecond})
	for _, accept := range []string{"", "application/json", "*/*", "text/html, application/json;q=0.5"} {
		t.Run(accept, func(t *testing.T) {
			h := []string{appKeyHeader + ": " + b.app}
			if accept != "" {
				h = append(h, "Accept: "+accept)
			}
			start := time.Now()
			r := b.do("GET", "/eventstream/clip/v2", "", h...)
			if r.status != 200 || string(r.body) != "[]\n" || r.header.Get("Content-Type") != "application/json" ||
				r.header.Get("ETag") != "" {
				t.Fatalf("%d %v %q", r.status, r.header, r.body)
			}
			if d := time.Since(start); d < 150*time.Millisecond {
				t.Fatalf("answered after %s, before the timeout", d)
			}
		})
	}
}

// TestExpiredPosition: a client resuming from a position older than
// retention is told, in an "error" event alone in a message without an
// id (so aiohue, which rejects the type, loses nothing else), and the
// stream goes on from the earliest stored event; a long-poll gets the
// error event ahead of the events.
func TestExpiredPosition(t *testing.T) {
	b := newBridgeOn(t, dialecttest.Options{Log: eventlog.Config{MaxBytes: 4 << 10}}, Config{})
	b.addDevice("motion_sensor", "Hall")
	for i := range 20 {
		b.adminDo("/v1/hue/sensor", fmt.Sprintf(`{"device":"Hall","temperature":%d}`, i))
	}
	first, _, err := b.core.Log.Bounds(t.Context())
	if err != nil || first <= 2 {
		t.Fatalf("retention removed nothing: first %d, %v", first, err)
	}
	// The hub's window follows retention within a second: retry until the
	// stream reports the gap.
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithCancel(t.Context())
		_, lines := b.rawStream(ctx, "Last-Event-ID: 1:1")
		nextLine(t, lines, 5*time.Second) // ": hi"
		l := nextLine(t, lines, 5*time.Second)
		if strings.HasPrefix(l, "data: ") {
			var evs []hueEvent
			if err := json.Unmarshal([]byte(strings.TrimPrefix(l, "data: ")), &evs); err != nil || len(evs) != 1 ||
				evs[0].Type != "error" || !strings.Contains(str(evs[0].Data[0], "description"), "expired") {
				t.Fatalf("expiry message %q: %v", l, err)
			}
			// Then the stream goes on, from the earliest stored event.
			id := nextLine(t, lines, 5*time.Second)
			if _, seq, err := parseEventID(strings.TrimPrefix(id, "id: ")); !strings.HasPrefix(id, "id: ") || err != nil || seq < first {
				t.Fatalf("after the error: %q (earliest %d)", id, first)
			}
			cancel()
			break
		}
		cancel()
		if time.Now().After(deadline) {
			t.Fatalf("no expiry message; got %q", l)
		}
		time.Sleep(100 * time.Millisecond)
	}
	r := b.do("GET", "/eventstream/clip/v2", "", appKeyHeader+": "+b.app, "Accept: application/json", "If-None-Match: 1:1")
	var evs []hueEvent
	r.decode(t, &evs)
	if r.status != 200 || len(evs) < 2 || evs[0].Type != "error" || evs[1].Type != "update" {
		t.Fatalf("long-poll: %d %s", r.status, r.body)
	}
}
