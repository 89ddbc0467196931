package route_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// The first example: a Hue button's initial_press becomes a Zulip
// message to stream home, topic doorbell — once per press, through the
// Zulip API acting as the route's user.
func TestDoorbellToZulip(t *testing.T) {
	e := start(t)
	_, userID := e.zulipUser("doorbell@example.org")
	e.must(e.admin("POST", "/v1/zulip/streams", `{"name":"home"}`), 201)
	dev := e.must(e.admin("POST", "/v1/hue/devices", `{"product":"dimmer_switch","name":"Door"}`), 201)
	_ = dev
	spec := map[string]any{
		"name":   "doorbell",
		"topics": []string{"hue.>"},
		"when":   `event.type == "update" && data.type == "button" && data.button.button_report.event == "initial_press"`,
		"action": map[string]any{
			"kind": "zulip.message", "as": userID,
			"params": `{"to": "home", "topic": "doorbell", "content": "Someone is at the door (" + data.id + ")"}`,
		},
	}
	body, _ := json.Marshal(spec)
	e.must(e.admin("POST", "/v1/routes", string(body)), 201)
	e.must(e.admin("POST", "/v1/hue/press", `{"button":"Door","control_id":1}`), 200)

	var msgs []map[string]any
	waitFor(t, "the doorbell message", func() bool {
		msgs = e.events("zulip.*.message", 0)
		return len(msgs) > 0
	})
	data, _ := msgs[0]["data"].(map[string]any)
	data, _ = data["message"].(map[string]any)
	if content, _ := data["content"].(string); len(msgs) != 1 || !strings.HasPrefix(content, "Someone is at the door") ||
		data["subject"] != "doorbell" || data["sender_email"] != "doorbell@example.org" {
		t.Fatalf("zulip events: %v", msgs)
	}
	if id, _ := msgs[0]["id"].(string); !strings.HasPrefix(id, "route.doorbell.") {
		t.Fatalf("message id %q, want one derived from the route and the source event", id)
	}
}

// The other examples: a Jetstream ObjectEvent for a tag becomes a Hue light
// PUT; a new film in Plex a Zulip message; a Zulip message mentioning
// @herald a native event.
func TestRouteExamples(t *testing.T) {
	e := start(t)
	hueKey, hueID := e.hueApp()
	basic, userID := e.zulipUser("films@example.org")
	e.must(e.admin("POST", "/v1/zulip/streams", `{"name":"home"}`), 201)
	var lamp struct {
		Data []struct{ Rid, Rtype string }
	}
	_ = json.Unmarshal([]byte(e.must(e.admin("POST", "/v1/hue/devices", `{"product":"color_lamp","name":"Hall"}`), 201).raw), &lamp)
	light := ""
	for _, r := range lamp.Data {
		if r.Rtype == "light" {
			light = r.Rid
		}
	}
	lightOn := func() bool {
		a := e.must(e.call("GET", "/clip/v2/resource/light/"+light, "hue:"+hueKey, "", ""), 200)
		data, _ := a.json["data"].([]any)
		on, _ := data[0].(map[string]any)["on"].(map[string]any)
		return on["on"] == true
	}
	e.must(e.call("PUT", "/clip/v2/resource/light/"+light, "hue:"+hueKey, "", `{"on":{"on":false}}`), 200)
	if lightOn() {
		t.Fatal("the light is on before the route")
	}

	// A first read tells the tag; the route starts just before it.
	first := e.events("jetstream.>", 0)
	e.must(e.admin("POST", "/v1/jetstream/simulate", `{"device":"door-1","objects":1}`), 201)
	reads := e.events("jetstream.*.objectevent", 0)
	if len(reads) != 1 || len(first) != 0 {
		t.Fatalf("jetstream reads: %v", reads)
	}
	tag := reads[0]["data"].(map[string]any)["Observe"].([]any)[0].(string)
	seq := uint64(reads[0]["seq"].(float64))
	for _, spec := range []string{
		`{"name":"tag-light","topics":["jetstream.*.objectevent"],"start":"` + itoa(seq-1) + `",
		  "when":"data.Observe.exists(t, t == '` + tag + `')",
		  "action":{"kind":"hue.put","as":"` + hueID + `","params":"{'resource': 'light/` + light + `', 'body': {'on': {'on': true}}}"}}`,
		`{"name":"new-film","topics":["plex.timeline"],"when":"data.TimelineEntry.metadataState == 'created'",
		  "action":{"kind":"zulip.message","as":"` + userID + `","params":"{'to': 'home', 'topic': 'films', 'content': 'New: ' + data.TimelineEntry.title}"}}`,
		`{"name":"mention","topics":["zulip.*.message"],"when":"data.message.content.contains('@herald')",
		  "action":{"kind":"native.publish","params":"{'topic': 'app.mentions', 'type': 'mention', 'data': {'from': data.message.sender_email, 'text': data.message.content}}"}}`,
	} {
		e.must(e.admin("POST", "/v1/routes", spec), 201)
	}
	waitFor(t, "the light on", lightOn)

	e.must(e.admin("POST", "/v1/plex/simulate/scan", `{"items":1}`), 200)
	var films []map[string]any
	waitFor(t, "the film message", func() bool {
		films = e.events("zulip.*.message", 0)
		return len(films) > 0
	})
	msg := films[0]["data"].(map[string]any)["message"].(map[string]any)
	if msg["content"] != "New: Movies 1" || msg["subject"] != "films" {
		t.Fatalf("film message: %v", msg)
	}

	e.must(e.call("POST", "/api/v1/messages", basic, "application/x-www-form-urlencoded",
		"type=stream&to=home&topic=chat&content=%40herald+what+is+on%3F"), 200)
	var mentions []map[string]any
	waitFor(t, "the mention event", func() bool {
		mentions = e.events("app.mentions", 0)
		return len(mentions) > 0
	})
	data := mentions[0]["data"].(map[string]any)
	if data["from"] != "films@example.org" || data["text"] != "@herald what is on?" || mentions[0]["type"] != "mention" {
		t.Fatalf("mention: %v", mentions[0])
	}
	// Each route acted once: its status says so (saved just after the
	// action, so a moment after its result is seen), and nothing more came.
	for name, done := range map[string]float64{"tag-light": 1, "new-film": 1, "mention": 1} {
		var st answer
		waitFor(t, "route "+name+"'s state", func() bool {
			st = e.must(e.admin("GET", "/v1/routes/"+name, ""), 200)
			return st.json["state"].(map[string]any)["done"] != 0.0
		})
		state := st.json["state"].(map[string]any)
		if state["done"] != done || state["failing"] != false || st.json["node"] == "" {
			t.Errorf("route %s: %s", name, st.raw)
		}
	}
	if n := len(e.events("zulip.*.message", 0)); n != 2 {
		t.Errorf("%d zulip messages, want the film's and the user's", n)
	}
}
