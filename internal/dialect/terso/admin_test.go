package terso

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/auth"
)

func TestUsersAdmin(t *testing.T) {
	e := setup(t, Config{})
	adm := map[string]string{"Authorization": "Bearer " + e.admin}
	u := e.addUser(`{"name":"dock-door","devices":["reader-1"]}`)
	if _, ok := parseAccessKey(u.AccessKey); !ok || u.ID == "" || u.Devices[0] != "reader-1" {
		t.Fatalf("user %+v", u)
	}
	// Only a digest of the access key is stored: an alias of the key.
	keys, err := e.core.Log.KV(t.Context(), "herald-keys")
	if err != nil {
		t.Fatal(err)
	}
	ents, err := keys.List(t.Context(), "alias.")
	if err != nil || len(ents) != 1 {
		t.Fatalf("entries %v %v", ents, err)
	}
	sum := sha256.Sum256([]byte(u.AccessKey))
	if strings.Contains(string(ents[0].Value), u.AccessKey) || !strings.Contains(string(ents[0].Value), hex.EncodeToString(sum[:])) {
		t.Fatalf("stored record %s", ents[0].Value)
	}
	key, err := e.core.Auth.Get(t.Context(), u.ID)
	if err != nil || key.Dialect != Dialect || strings.Contains(strings.Join(keyMetaValues(key.Meta), " "), u.AccessKey) {
		t.Fatalf("key %+v %v", key, err)
	}
	// Upper-case GUIDs are the same access key.
	if r := e.sdk("GET", "/3/events", strings.ToUpper(u.AccessKey), "", nil); r.status != 200 {
		t.Fatalf("upper case: %d", r.status)
	}
	var list struct{ Users []User }
	e.do("GET", "/v1/jetstream/users", adm, "", &list)
	if len(list.Users) != 1 || !list.Users[0].Subscribed || list.Users[0].AccessKey != "" {
		t.Fatalf("list %+v", list)
	}
	// Not for other keys: a non-admin and the Jetstream user itself.
	plain := e.core.Key(t, authSpec("plain"))
	if r := e.do("GET", "/v1/jetstream/users", map[string]string{"Authorization": "Bearer " + plain}, "", nil); r.status != 403 {
		t.Fatalf("non-admin: %d", r.status)
	}
	if r := e.do("GET", "/v1/jetstream/users", map[string]string{"AccessKey": u.AccessKey}, "", nil); r.status != 401 {
		t.Fatalf("access key on admin route: %d", r.status)
	}
	// A herald token is not an access key.
	if r := e.sdk("GET", "/3/events", e.admin, "", nil); r.status != 401 {
		t.Fatalf("token as access key: %d", r.status)
	}
	for _, bad := range []string{`{"name":""}`, `{"name":"x","devices":["a.b"]}`, `{"name":"x","bogus":1}`} {
		// herald's admin endpoints answer in the native shape, whatever the dialect.
		if r := e.do("POST", "/v1/jetstream/users", adm, bad, nil); r.status != 400 || !strings.Contains(string(r.body), `"code":"bad_request"`) {
			t.Fatalf("%s: %d %s", bad, r.status, r.body)
		}
	}
	if r := e.do("DELETE", "/v1/jetstream/users/"+u.ID, adm, "", nil); r.status != 204 {
		t.Fatalf("remove: %d %s", r.status, r.body)
	}
	if r := e.sdk("GET", "/3/events", u.AccessKey, "", nil); r.status != 401 {
		t.Fatalf("removed user: %d", r.status)
	}
	if _, err := e.core.Cursors.Get(t.Context(), subscriptionID(u.ID)); err == nil {
		t.Fatal("subscription survived its user")
	}
	if r := e.do("DELETE", "/v1/jetstream/users/"+u.ID, adm, "", nil); r.status != 404 {
		t.Fatalf("remove twice: %d", r.status)
	}
}

func keyMetaValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func TestSimulate(t *testing.T) {
	e := setup(t, Config{})
	adm := map[string]string{"Authorization": "Bearer " + e.admin}
	u := e.addUser(`{"name":"sim"}`)
	e.sdk("GET", "/3/events", u.AccessKey, "", nil)
	var out struct{ Events []SimulatedEvent }
	r := e.do("POST", "/v1/jetstream/simulate", adm,
		`{"device":"reader-1","heartbeat":true,"sensors":["TemperatureA","humidity"],"objects":3,"aggregate":true}`, &out)
	if r.status != http.StatusCreated || len(out.Events) != 4 {
		t.Fatalf("simulate: %d %s", r.status, r.body)
	}
	var d eventsDto
	e.sdk("GET", "/3/events", u.AccessKey, "", &d)
	if d.Count != 4 {
		t.Fatalf("got %d events", d.Count)
	}
	wantTypes := []string{"HeartbeatEvent", "SensorReadingEvent", "ObjectEvent", "AggregateEvent"}
	for i, raw := range d.Events {
		var ev map[string]any
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatal(err)
		}
		if ev["Type"] != wantTypes[i] || ev["Device"] != "reader-1" || ev["Version"] != float64(2) ||
			ev["EventId"] != out.Events[i].EventID || out.Events[i].Topic != "jetstream.reader-1."+strings.ToLower(wantTypes[i]) {
			t.Fatalf("event %d: %s (%+v)", i, raw, out.Events[i])
		}
		for _, f := range []string{"EventTime", "ReceivedTime"} {
			if _, err := time.Parse(TimeFormat, ev[f].(string)); err != nil {
				t.Fatalf("event %d %s: %v", i, f, err)
			}
		}
	}
	if r := e.do("POST", "/v1/jetstream/simulate", adm, `{"device":"reader-1"}`, nil); r.status != 400 {
		t.Fatalf("nothing asked: %d", r.status)
	}
}

// TestSimulatedShapes pins the payloads for a fixed seed and time.
func TestSimulatedShapes(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ds, err := simulated(SimulateRequest{Device: "reader-1", Heartbeat: true, Sensors: []string{"temperature"}, Objects: 2, Aggregate: true},
		now, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	var all []json.RawMessage
	for _, d := range ds {
		// EventIds are random UUIDs: pin their shape, not their value.
		var m map[string]any
		json.Unmarshal(d.Data, &m)
		if _, ok := parseAccessKey(m["EventId"].(string)); !ok || m["EventId"] != d.ID {
			t.Fatalf("EventId %v, draft id %q", m["EventId"], d.ID)
		}
		all = append(all, []byte(strings.Replace(string(d.Data), d.ID, "EVENT-ID", 1)))
	}
	b, _ := json.Marshal(all)
	golden(t, "simulated.json", b)
}

func authSpec(name string) auth.Spec { return auth.Spec{Name: name, Subscribe: []string{">"}} }

// GET /v1/jetstream/users counts each subscription's pending events: those
// its user has not deleted yet.
func TestUsersPending(t *testing.T) {
	e := setup(t, Config{})
	u := e.addUser(`{"name":"dock","devices":["reader-1"]}`)
	if r := e.sdk("GET", "/3/events", u.AccessKey, "", nil); r.status != 200 {
		t.Fatalf("GET /3/events: %d", r.status)
	}
	for i := range 3 {
		e.append("reader-1", "heartbeatevent", heartbeat("reader-1", guid(i)))
	}
	e.append("reader-2", "heartbeatevent", heartbeat("reader-2", guid(9))) // not this user's device
	var list struct{ Users []User }
	e.do("GET", "/v1/jetstream/users", map[string]string{"Authorization": "Bearer " + e.admin}, "", &list)
	if len(list.Users) != 1 || list.Users[0].Pending != 3 {
		t.Fatalf("users %+v, want dock with 3 pending", list.Users)
	}
}
