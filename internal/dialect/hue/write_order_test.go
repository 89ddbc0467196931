package hue

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/topic"
)

// stateAgreesWithLog checks the write order's invariant for every resource
// that has events: its entry reflects the last of them, holds every field
// the last one carries (or is a tombstone after a delete), and, for a
// resource made by an add event, equals the fold of all its events.
func stateAgreesWithLog(t *testing.T, b *bridge) {
	t.Helper()
	problems, err := disagreements(t.Context(), b)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// disagreements lists where the state and the log differ.
func disagreements(ctx context.Context, b *bridge) ([]string, error) {
	byRes := map[resource][]eventlog.Event{}
	for after := uint64(0); ; {
		evs, next, err := b.core.Log.Read(ctx, after, hueScope, eventlog.MaxRead)
		if err != nil {
			return nil, err
		}
		for _, ev := range evs {
			if rtype, id, ok := parseResTopic(ev.Topic); ok {
				byRes[resource{rtype, id}] = append(byRes[resource{rtype, id}], ev)
			}
		}
		if len(evs) < eventlog.MaxRead {
			break
		}
		after = next
	}
	if len(byRes) == 0 {
		return nil, errors.New("no events")
	}
	var problems []string
	for r, evs := range byRes {
		e, _, err := b.api.store.entry(ctx, r.rtype, r.id)
		if err != nil {
			return nil, err
		}
		last := evs[len(evs)-1]
		if e.Seq < last.Seq {
			problems = append(problems, fmt.Sprintf("%s %s: state at %d, last event %d", r.rtype, r.id, e.Seq, last.Seq))
			continue
		}
		item, _ := decodeObject(last.Data)
		if last.Type == "delete" {
			if !e.Deleted || e.Res != nil {
				problems = append(problems, fmt.Sprintf("%s %s: deleted in the log, stored %v", r.rtype, r.id, e.Res))
			}
			continue
		}
		merged := clone(e.Res)
		merge(merged, item)
		if e.Res == nil || !jsonEqual(merged, e.Res) {
			problems = append(problems, fmt.Sprintf("%s %s: last event %s\nnot in state %v", r.rtype, r.id, last.Data, e.Res))
		}
		if evs[0].Type != "add" {
			continue
		}
		var folded object
		for i := range evs {
			folded, _ = applyEvent(folded, r.rtype, r.id, &evs[i])
		}
		if !jsonEqual(folded, e.Res) {
			problems = append(problems, fmt.Sprintf("%s %s: fold of the log\n%v\nstate\n%v", r.rtype, r.id, folded, e.Res))
		}
	}
	return problems, nil
}

// node serves another API on the bridge's core: a second herald node.
func (b *bridge) node(cfg Config) *bridge {
	b.t.Helper()
	if cfg.BatchWindow == 0 {
		cfg.BatchWindow = -1
	}
	api, err := New(b.core.Core, cfg)
	if err != nil {
		b.t.Fatal(err)
	}
	srv := b.core.Serve(b.t, api.Mount)
	return &bridge{t: b.t, core: b.core, api: api, url: srv.URL, admin: b.admin, app: b.app}
}

// send is a request that reports failure instead of failing the test, for
// goroutines other than the test's.
func (b *bridge) send(method, path, body string) (int, []byte, error) {
	req, err := http.NewRequest(method, b.url+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set(appKeyHeader, b.app)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	return res.StatusCode, data, err
}

// randomLightPut is a PUT body with absolute and relative changes.
func randomLightPut(r *rand.Rand) string {
	switch r.IntN(5) {
	case 0:
		return fmt.Sprintf(`{"on":{"on":%t}}`, r.IntN(2) == 0)
	case 1:
		return fmt.Sprintf(`{"on":{"on":true},"dimming":{"brightness":%d}}`, 1+r.IntN(100))
	case 2:
		return fmt.Sprintf(`{"color":{"xy":{"x":0.%03d,"y":0.%03d}}}`, 100+r.IntN(500), 100+r.IntN(500))
	case 3:
		return fmt.Sprintf(`{"color_temperature":{"mirek":%d}}`, 153+r.IntN(300))
	}
	return fmt.Sprintf(`{"dimming_delta":{"action":"%s","brightness_delta":%d}}`, []string{"up", "down"}[r.IntN(2)], r.IntN(30))
}

// TestConcurrentWritersAgreeWithLog: two nodes PUT one light (and each its
// own) at the same time. Every PUT answers 200; afterwards every resource's
// state is what the log says (the light, and the groups both writers
// recomputed), and both nodes read the same. Each node reads its own
// writes at once.
func TestConcurrentWritersAgreeWithLog(t *testing.T) {
	b := newBridge(t, Config{})
	nodes := []*bridge{b, b.node(Config{})}
	shared := b.addDevice("color_lamp", "Shared")["light"][0]
	own := []string{b.addDevice("color_lamp", "Own A")["light"][0], b.addDevice("white_ambiance", "Own B")["light"][0]}
	const puts = 40
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(i), 42))
			for j := range puts {
				body := randomLightPut(r)
				if i == 1 && strings.Contains(body, "color\"") {
					body = `{"on":{"on":false}}` // node B's own light has no colour
				}
				for _, light := range []string{shared, own[i]} {
					if st, data, err := n.send("PUT", "/clip/v2/resource/light/"+light, body); err != nil || st != 200 {
						t.Errorf("node %d put %d %s: %d %s %v", i, j, body, st, data, err)
						return
					}
				}
				// Read your writes: nobody else writes this light.
				st, data, err := n.send("GET", "/clip/v2/resource/light/"+own[i], "")
				if err != nil || st != 200 {
					t.Errorf("node %d get: %d %v", i, st, err)
					return
				}
				p, _ := decodeObject([]byte(body))
				var env struct{ Data []object }
				if err := json.Unmarshal(data, &env); err != nil || len(env.Data) != 1 {
					t.Errorf("node %d get: %s", i, data)
					return
				}
				for _, k := range []string{"on", "color_temperature"} {
					if want := sub(p, k); want != nil && !jsonEqual(pick(sub(env.Data[0], k), want), normalize(want)) {
						t.Errorf("node %d: after PUT %s read %s %v", i, body, k, env.Data[0][k])
					}
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	stateAgreesWithLog(t, b)
	a, c := nodes[0].hue("GET", "/clip/v2/resource/light/"+shared, ""), nodes[1].hue("GET", "/clip/v2/resource/light/"+shared, "")
	if !bytes.Equal(a.body, c.body) {
		t.Fatalf("nodes disagree:\n%s\n%s", a.body, c.body)
	}
}

// pick returns the fields of o that want names.
func pick(o, want object) object {
	out := object{}
	for k := range want {
		out[k] = o[k]
	}
	return out
}

// TestReadYourWritesOnEitherNode: a write answered by one node is what the
// next read shows, on that node and on the other.
func TestReadYourWritesOnEitherNode(t *testing.T) {
	b := newBridge(t, Config{})
	other := b.node(Config{})
	light := b.addDevice("white_ambiance", "Lamp")["light"][0]
	for i := range 20 {
		w, r := b, other
		if i%2 == 1 {
			w, r = other, b
		}
		bri := float64(10 + i)
		if res := w.hue("PUT", "/clip/v2/resource/light/"+light, fmt.Sprintf(`{"dimming":{"brightness":%v}}`, bri)); res.status != 200 {
			t.Fatalf("PUT: %d %s", res.status, res.body)
		}
		for _, n := range []*bridge{w, r} {
			got := n.resources("light")[0]
			if b, _ := number(sub(got, "dimming"), "brightness"); b != bri {
				t.Fatalf("write %d: read %v", i, got["dimming"])
			}
		}
	}
}

var errCrash = errors.New("simulated crash")

// TestCrashBetweenAppendAndProjection: a node dies after appending a
// write's events and before projecting them. The log is ahead of the state
// (never the reverse), and the state is repaired: at once by a node that
// starts, or within moments by a node that is running.
func TestCrashBetweenAppendAndProjection(t *testing.T) {
	type fixture struct {
		lamp, sw map[string][]string
	}
	for _, w := range []struct {
		name string
		do   func(b *bridge, f fixture) resp
		done func(ctx context.Context, b *bridge, f fixture) bool // the write is in the state
	}{
		{
			name: "PUT light",
			do: func(b *bridge, f fixture) resp {
				return b.hue("PUT", "/clip/v2/resource/light/"+f.lamp["light"][0], `{"on":{"on":true},"dimming":{"brightness":42}}`)
			},
			done: func(ctx context.Context, b *bridge, f fixture) bool {
				l, err := b.api.store.get(ctx, "light", f.lamp["light"][0])
				g, _ := b.api.store.get(ctx, "grouped_light", b.api.bridge.HomeGroup)
				bri, _ := number(sub(l, "dimming"), "brightness")
				return err == nil && bri == 42 && sub(g, "on")["on"] == true
			},
		},
		{
			name: "DELETE device",
			do: func(b *bridge, f fixture) resp {
				return b.hue("DELETE", "/clip/v2/resource/device/"+f.lamp["device"][0], "")
			},
			done: func(ctx context.Context, b *bridge, f fixture) bool {
				_, err := b.api.store.get(ctx, "light", f.lamp["light"][0])
				return errors.Is(err, errNotFound)
			},
		},
		{
			name: "POST room",
			do: func(b *bridge, f fixture) resp {
				return b.hue("POST", "/clip/v2/resource/room", `{"metadata":{"name":"Den","archetype":"office"},"children":[{"rid":"`+f.lamp["device"][0]+`","rtype":"device"}]}`)
			},
			done: func(ctx context.Context, b *bridge, f fixture) bool {
				rooms, err := b.api.store.list(ctx, "room")
				return err == nil && len(rooms) == 1
			},
		},
		{
			name: "press",
			do: func(b *bridge, f fixture) resp {
				return b.do("POST", "/v1/hue/press", `{"button":"`+f.sw["button"][0]+`","action":"double"}`, "Authorization: Bearer "+b.admin)
			},
			done: func(ctx context.Context, b *bridge, f fixture) bool {
				btn, err := b.api.store.get(ctx, "button", f.sw["button"][0])
				return err == nil && sub(btn, "button")["last_event"] == "double_short_release"
			},
		},
	} {
		for _, repair := range []string{"node starts", "node running"} {
			t.Run(w.name+"/"+repair, func(t *testing.T) {
				var crash atomic.Bool
				b := newBridge(t, Config{noProjector: true, afterAppend: func() error {
					if crash.Load() {
						return errCrash
					}
					return nil
				}})
				f := fixture{lamp: b.addDevice("color_lamp", "Lamp"), sw: b.addDevice("smart_button", "Button")}
				var other *bridge
				if repair == "node running" {
					other = b.node(Config{})
				}
				_, before, _ := b.core.Log.Bounds(t.Context())
				crash.Store(true)
				if r := w.do(b, f); r.status != http.StatusInternalServerError {
					t.Fatalf("write during the crash: %d %s", r.status, r.body)
				}
				if _, after, _ := b.core.Log.Bounds(t.Context()); after == before {
					t.Fatal("nothing appended before the crash")
				}
				if repair == "node starts" {
					if w.done(t.Context(), b, f) {
						t.Fatal("state changed without projection")
					}
					other = b.node(Config{noProjector: true}) // its catch-up repairs, before it serves
					if !w.done(t.Context(), other, f) {
						t.Fatal("not repaired by the start")
					}
				} else {
					deadline := time.Now().Add(10 * time.Second)
					for !w.done(t.Context(), other, f) || !agrees(t.Context(), b) {
						if time.Now().After(deadline) {
							t.Fatal("not repaired by the running node")
						}
						time.Sleep(10 * time.Millisecond)
					}
				}
				stateAgreesWithLog(t, b)
				// The next write on the repaired state works as usual.
				crash.Store(false)
				if r := other.hue("PUT", "/clip/v2/resource/grouped_light/"+b.api.bridge.HomeGroup, `{"on":{"on":false}}`); r.status != 200 {
					t.Fatalf("write after repair: %d %s", r.status, r.body)
				}
				stateAgreesWithLog(t, b)
			})
		}
	}
}

func agrees(ctx context.Context, b *bridge) bool {
	p, err := disagreements(ctx, b)
	return err == nil && len(p) == 0
}

// TestStateRebuildsFromLog: the state of everything made by events is the
// fold of the log — wipe it and the position, and a start rebuilds it as it
// was. A late projection of an old event does not bring back what a later
// one deleted.
func TestStateRebuildsFromLog(t *testing.T) {
	b := newBridge(t, Config{})
	lamp := b.addDevice("color_lamp", "Lamp")
	gone := b.addDevice("white_ambiance", "Gone")
	b.addDevice("tap_dial", "Dial")
	b.hue("PUT", "/clip/v2/resource/light/"+lamp["light"][0], `{"on":{"on":true},"dimming":{"brightness":30}}`)
	b.hue("POST", "/clip/v2/resource/zone", `{"metadata":{"name":"Z","archetype":"garden"},"children":[{"rid":"`+lamp["light"][0]+`","rtype":"light"}]}`)
	b.adminDo("/v1/hue/press", `{"button":"Dial","control_id":2,"action":"long","repeats":2}`)
	b.adminDo("/v1/hue/rotate", `{"device":"Dial","steps":-15,"repeats":1}`)
	b.hue("DELETE", "/clip/v2/resource/device/"+gone["device"][0], "")
	want := b.hue("GET", "/clip/v2/resource", "").body

	ctx := t.Context()
	seeded := map[string]bool{}
	for _, o := range bridgeResources(b.api.bridge) {
		seeded[resKey(str(o, "type"), str(o, "id"))] = true
	}
	entries, err := b.api.store.kv.List(ctx, resPrefix)
	if err != nil {
		t.Fatal(err)
	}
	wiped := 0
	for _, e := range entries {
		if !seeded[e.Key] {
			if err := b.api.store.kv.Delete(ctx, e.Key, 0); err != nil {
				t.Fatal(err)
			}
			wiped++
		}
	}
	if err := b.api.store.kv.Delete(ctx, projectedKey, 0); err != nil {
		t.Fatal(err)
	}
	if wiped < 10 || len(b.resources("light")) != 0 {
		t.Fatalf("wiped %d", wiped)
	}
	other := b.node(Config{noProjector: true})
	if got := other.hue("GET", "/clip/v2/resource", "").body; !bytes.Equal(got, want) {
		t.Fatalf("rebuilt:\n%s\nwas:\n%s", got, want)
	}
	stateAgreesWithLog(t, b)

	// A projector that saw only the add of the deleted light acts late.
	evs, _, err := b.core.Log.Read(ctx, 0, topic.Filter{resTopic("light", gone["light"][0])}, 10)
	if err != nil || len(evs) < 2 || evs[0].Type != "add" || evs[len(evs)-1].Type != "delete" {
		t.Fatalf("events of the deleted light: %v %v", evs, err)
	}
	if err := b.api.proj.project(ctx, "light", gone["light"][0], evs[0].Seq); err != nil {
		t.Fatal(err)
	}
	if _, err := b.api.store.get(ctx, "light", gone["light"][0]); !errors.Is(err, errNotFound) {
		t.Fatalf("deleted light is back: %v", err)
	}
}

// TestEntryWithoutSequence: a resource stored as a bare object (by herald
// before the write order) reads as the state at sequence 0, and its events
// fold onto it. No background projector: one that met the add's event
// after the bare entry was written would fold it in before the read.
func TestEntryWithoutSequence(t *testing.T) {
	b := newBridge(t, Config{noProjector: true})
	light := b.addDevice("white_ambiance", "Lamp")["light"][0]
	ctx := t.Context()
	cur, err := b.api.store.get(ctx, "light", light)
	if err != nil {
		t.Fatal(err)
	}
	cur["on"] = object{"on": true} // drifted from the log, as a crash used to leave it
	raw, _ := json.Marshal(cur)
	if _, err := b.api.store.kv.Put(ctx, resKey("light", light), raw); err != nil {
		t.Fatal(err)
	}
	if got := b.resources("light")[0]; sub(got, "on")["on"] != true {
		t.Fatalf("bare entry: %v", got)
	}
	// Projecting folds the log from the start: the add, then the updates.
	_, last, _ := b.core.Log.Bounds(ctx)
	if err := b.api.proj.project(ctx, "light", light, last); err != nil {
		t.Fatal(err)
	}
	if got := b.resources("light")[0]; sub(got, "on")["on"] != false {
		t.Fatalf("after projection: %v", got)
	}
	stateAgreesWithLog(t, b)
}

// TestProjectPastOnePage: a resource with more unprojected events than one
// log read returns (a node down while a button was pressed and pressed) is
// brought up to the sequence asked for, not one page short of it.
func TestProjectPastOnePage(t *testing.T) {
	b := newBridge(t, Config{noProjector: true})
	light := b.addDevice("white_ambiance", "Lamp")["light"][0]
	ctx := t.Context()
	const n = projectBatch + 44
	drafts := make([]eventlog.Draft, n)
	for i := range drafts {
		drafts[i] = eventlog.Draft{Topic: resTopic("light", light), Type: "update",
			Data: json.RawMessage(fmt.Sprintf(`{"id":%q,"type":"light","dimming":{"brightness":%d}}`, light, 1+i%100))}
	}
	acks, err := b.core.Log.Append(ctx, drafts)
	if err != nil {
		t.Fatal(err)
	}
	last := acks[len(acks)-1].Seq
	if err := b.api.proj.project(ctx, "light", light, last); err != nil {
		t.Fatal(err)
	}
	e, _, err := b.api.store.entry(ctx, "light", light)
	if err != nil {
		t.Fatal(err)
	}
	if bri, _ := number(sub(e.Res, "dimming"), "brightness"); e.Seq < last || bri != float64(1+(n-1)%100) {
		t.Fatalf("projected to %d (brightness %v), asked for %d (brightness %d)", e.Seq, bri, last, 1+(n-1)%100)
	}
}
