package route_test

import (
	"strings"
	"testing"

	"github.com/herald-io/herald/internal/route"
)

// A route that cannot run is refused when it is made, with what to fix,
// and nothing is stored.
func TestRouteRefusals(t *testing.T) {
	e := start(t)
	_, zulipID := e.zulipUser("bad@example.org")
	ok := `"topics":["app.x"],"action":{"kind":"native.publish","params":"{'topic': 'app.y'}"}`
	// Each message starts as the client reads it: what is wrong, no package prefix.
	for _, tc := range []struct{ body, msg string }{
		{`{"name":"a b",` + ok + `}`, "invalid route: name must be"},
		{`{"name":"r","topics":[],"action":{"kind":"native.publish","params":"{}"}}`, "invalid route: topics: at least one"},
		{`{"name":"r","topics":["app..x"],"action":{"kind":"native.publish","params":"{}"}}`, "invalid route: topics:"},
		{`{"name":"r","topics":["app.x"],"action":{"kind":"email","params":"{}"}}`, `invalid route: action.kind "email"`},
		{`{"name":"r","topics":["app.x"],"action":{"kind":"native.publish"}}`, "invalid route: action.params"},
		{`{"name":"r","topics":["app.x"],"action":{"kind":"zulip.message","params":"{}"}}`, "invalid route: action.as"},
		{`{"name":"r","topics":["app.x"],"action":{"kind":"hue.put","as":"` + zulipID + `","params":"{}"}}`, "invalid route: action.as " + zulipID + " is a key for the zulip API, not hue"},
		{`{"name":"r","topics":["app.x"],"when":"data.n +","action":{"kind":"native.publish","params":"{}"}}`, "bad expression: when"},
		{`{"name":"r","topics":["app.x"],"when":"'yes'","action":{"kind":"native.publish","params":"{}"}}`, "bad expression: when must be bool"},
		{`{"name":"r","topics":["app.x"],"action":{"kind":"native.publish","params":"[1]"}}`, "bad expression: params must be a map"},
		{`{"name":"r","topics":["app.x"],"wen":"true","action":{"kind":"native.publish","params":"{}"}}`, `invalid route: unknown field "wen"`},
		{`{"name":"r",` + ok + `,"start":"yesterday"}`, "invalid route: start:"},
		{`{"name":"r",` + ok + `} {}`, "invalid route: one JSON object, nothing after it"},
	} {
		a := e.admin("POST", "/v1/routes", tc.body)
		if msg := errMessage(a); a.status != 400 || !strings.HasPrefix(msg, tc.msg) {
			t.Errorf("%s: %d %s, want 400 starting %q", tc.body, a.status, a.raw, tc.msg)
		}
	}
	if a := e.must(e.admin("GET", "/v1/routes", ""), 200); len(a.json["routes"].([]any)) != 0 {
		t.Fatalf("a refused route was stored: %s", a.raw)
	}
	e.must(e.admin("POST", "/v1/routes", `{"name":"r",`+ok+`}`), 201)
	if a := e.must(e.admin("POST", "/v1/routes", `{"name":"r",`+ok+`}`), 409); errMessage(a) != "a route of that name exists" {
		t.Errorf("409: %s", a.raw)
	}
	if a := e.must(e.admin("GET", "/v1/routes/nope", ""), 404); errMessage(a) != "no such route" {
		t.Errorf("404: %s", a.raw)
	}
	e.must(e.admin("DELETE", "/v1/routes/nope", ""), 404)
	e.must(e.admin("PUT", "/v1/routes/nope", `{`+ok+`}`), 404)
	e.must(e.admin("PUT", "/v1/routes/r", `{"name":"other",`+ok+`}`), 400)
	e.must(e.admin("DELETE", "/v1/routes/r", ""), 204)
	e.must(e.admin("GET", "/v1/routes/r", ""), 404)
}

// Testing a route shows what it would do with a stored event and does
// nothing.
func TestRouteTest(t *testing.T) {
	e := start(t)
	seq := itoa(e.publish(`{"topic":"app.door","type":"ring","data":{"who":"Ann"}}`))
	spec := `{"name":"t","topics":["app.door"],"when":"data.who == 'Ann'",
		"action":{"kind":"native.publish","params":"{'topic': 'app.greet', 'data': {'hello': data.who}}"}}`
	a := e.must(e.admin("POST", "/v1/routes/t/test", `{"seq":`+seq+`,"route":`+spec+`}`), 200)
	plan, _ := a.json["plan"].(map[string]any)
	ev, _ := plan["event"].(map[string]any)
	if a.json["matched"] != true || ev["topic"] != "app.greet" || plan["event_id"] != "route.t."+seq {
		t.Fatalf("test: %s", a.raw)
	}
	if data, _ := ev["data"].(map[string]any); data["hello"] != "Ann" {
		t.Fatalf("planned data: %s", a.raw)
	}
	e.must(e.admin("POST", "/v1/routes", spec), 201)
	no := `{"seq":` + seq + `,"route":{"name":"t","topics":["app.door"],"when":"data.who == 'Bob'","action":{"kind":"native.publish","params":"{'topic': 'app.greet'}"}}}`
	if a := e.must(e.admin("POST", "/v1/routes/t/test", no), 200); a.json["matched"] != false || a.json["plan"] != nil {
		t.Fatalf("test of a route that does not match: %s", a.raw)
	}
	if a := e.must(e.admin("POST", "/v1/routes/t/test", `{"seq":`+seq+`}`), 200); a.json["matched"] != true {
		t.Fatalf("test of the stored route: %s", a.raw)
	}
	broken := `{"seq":` + seq + `,"route":{"name":"t","topics":["app.door"],"action":{"kind":"native.publish","params":"{'topic': data.missing}"}}}`
	if a := e.must(e.admin("POST", "/v1/routes/t/test", broken), 200); !strings.Contains(a.json["error"].(string), "no such key") {
		t.Fatalf("test of a route failing on the event: %s", a.raw)
	}
	e.must(e.admin("POST", "/v1/routes/t/test", `{"seq":999}`), 404)
	e.must(e.admin("POST", "/v1/routes/t/test", `{}`), 400)
	if evs := e.events("app.greet", 0); len(evs) != 0 {
		t.Fatalf("a test acted: %v", evs)
	}
}

func FuzzParseSpec(f *testing.F) {
	f.Add([]byte(`{"name":"r","topics":["app.x"],"when":"true","action":{"kind":"native.publish","params":"{}"}}`))
	f.Add([]byte(`{"name":1}`))
	f.Add([]byte(`{} {}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := route.ParseSpec(body)
		if err == nil && s.Name == "" && strings.Contains(string(body), `"name":"`) && !strings.Contains(string(body), `"name":""`) {
			t.Fatalf("name lost from %q", body)
		}
	})
}

// errMessage is the message of a native error answer.
func errMessage(a answer) string {
	errObj, _ := a.json["error"].(map[string]any)
	msg, _ := errObj["message"].(string)
	return msg
}
