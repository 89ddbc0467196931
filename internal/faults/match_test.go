package faults

import (
	"testing"
	"time"

	"github.com/herald-io/herald/internal/topic"
)

func rulesOf(t *testing.T, rand func() float64, bodies ...string) *Rules {
	t.Helper()
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var live []Rule
	for i, b := range bodies {
		spec, err := ParseSpec([]byte(b))
		if err != nil {
			t.Fatal(err)
		}
		r, err := spec.rule(string(rune('a'+i))+"123456789abcdef", created.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		live = append(live, r)
	}
	if rand == nil {
		rand = func() float64 { t.Fatal("a rule of probability 1 drew"); return 0 }
	}
	return newRules(live, rand, func() time.Time { return created.Add(time.Minute) })
}

func TestRequestDecision(t *testing.T) {
	rs := rulesOf(t, nil,
		`{"dialect":"hue","action":"status","status":429,"retry_after":"3s"}`,
		`{"action":"delay","delay":"2s"}`,
		`{"action":"delay","delay":"5s","key":"slow"}`,
		`{"action":"reject_key","key":"bad"}`,
		`{"action":"delay","delay":"9s","topic":"app.>"}`,
		`{"action":"cut_stream","after_events":3}`,
	)
	for _, tc := range []struct {
		dialect, key string
		want         RequestFault
	}{
		{"native", "k", RequestFault{Delay: 2 * time.Second, DelayRule: "b123456789abcdef"}},
		{"native", "slow", RequestFault{Delay: 5 * time.Second, DelayRule: "c123456789abcdef"}},
		{"native", "bad", RequestFault{Delay: 2 * time.Second, DelayRule: "b123456789abcdef", Action: RejectKey, Rule: "d123456789abcdef"}},
		{"hue", "k", RequestFault{Action: Status, Rule: "a123456789abcdef", Status: 429, Retry: 3 * time.Second}},
	} {
		got, ok := rs.Request(tc.dialect, tc.key)
		if !ok || got != tc.want {
			t.Errorf("%s/%s: %+v %v, want %+v", tc.dialect, tc.key, got, ok, tc.want)
		}
	}
	if n := rs.Len(); n != 6 {
		t.Errorf("Len = %d, want 6", n)
	}
	if _, ok := rulesOf(t, nil, `{"action":"cut_stream","now":true}`).Request("native", "k"); ok {
		t.Error("a stream rule applies to requests")
	}
}

// A rule of probability p applies when the draw is below p.
func TestProbability(t *testing.T) {
	var draw float64
	rs := rulesOf(t, func() float64 { return draw }, `{"action":"reject_key","probability":0.25}`)
	for _, tc := range []struct {
		draw float64
		want bool
	}{{0, true}, {0.2499, true}, {0.25, false}, {0.9, false}} {
		draw = tc.draw
		if _, ok := rs.Request("native", "k"); ok != tc.want {
			t.Errorf("draw %v: applies %v, want %v", tc.draw, ok, tc.want)
		}
	}
}

func TestStreamDecision(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) // the first rule's; each next one a second later
	appOnly, _ := topic.ParseFilter("app.>")
	hueOnly, _ := topic.ParseFilter("hue.>")
	rs := rulesOf(t, nil,
		`{"dialect":"native","action":"cut_stream","after_events":5}`,
		`{"action":"cut_stream","after_events":3,"topic":"app.door.>"}`,
		`{"action":"cut_stream","every":"1m","key":"k2"}`,
		`{"action":"cut_stream","now":true,"dialect":"plex"}`,
		`{"action":"delay","delay":"2s","topic":"hue.>"}`,
	)
	for _, tc := range []struct {
		name, dialect, key string
		f                  topic.Filter
		opened             time.Time
		want               StreamFault
		ok                 bool
	}{
		{"native, everything", "native", "k", nil, created, StreamFault{CutAfter: 3, CutRule: "b123456789abcdef", Delay: 2 * time.Second}, true},
		{"native, app", "native", "k", appOnly, created, StreamFault{CutAfter: 3, CutRule: "b123456789abcdef"}, true},
		{"native, hue", "native", "k", hueOnly, created, StreamFault{CutAfter: 5, CutRule: "a123456789abcdef", Delay: 2 * time.Second}, true},
		{"hue, hue", "hue", "k", hueOnly, created, StreamFault{Delay: 2 * time.Second}, true},
		{"every, opened before the rule", "zulip", "k2", hueOnly, created.Add(-time.Hour),
			StreamFault{CutAt: created.Add(2*time.Second + time.Minute), Delay: 2 * time.Second}, true},
		{"every, opened after the rule", "zulip", "k2", appOnly, created.Add(time.Hour),
			StreamFault{CutAfter: 3, CutRule: "b123456789abcdef", CutAt: created.Add(time.Hour + time.Minute)}, true},
		{"now, opened before the rule", "plex", "k", hueOnly, created, StreamFault{CutAt: created.Add(3 * time.Second), Delay: 2 * time.Second}, true},
		{"now, opened after the rule", "plex", "k", hueOnly, created.Add(3 * time.Second), StreamFault{Delay: 2 * time.Second}, true},
		{"plex, app", "plex", "k", appOnly, created.Add(time.Hour), StreamFault{CutAfter: 3, CutRule: "b123456789abcdef"}, true},
		{"nothing", "jetstream", "k", topic.Filter{"jetstream.>"}, created.Add(time.Hour), StreamFault{}, false},
	} {
		got, ok := rs.Stream(tc.dialect, tc.key, tc.f, tc.opened)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%s: %+v %v, want %+v %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

// A restart answers 503 until it is back, with the seconds left as
// Retry-After unless it names its own; it cuts the streams open when it
// was made, as a restart (a WebSocket is told the server goes away). A
// slow_read paces bodies and streams at the slowest rate that applies.
func TestRestartAndSlowReadDecisions(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	appOnly, _ := topic.ParseFilter("app.>")
	hueOnly, _ := topic.ParseFilter("hue.>")
	// rulesOf's clock reads created+1m; the rules are made a second apart.
	rs := rulesOf(t, nil,
		`{"dialect":"hue","action":"restart","down":"90s"}`,
		`{"dialect":"plex","action":"restart","down":"2m","retry_after":"3s"}`,
		`{"dialect":"native","action":"slow_read","rate":1000}`,
		`{"action":"slow_read","rate":200,"topic":"app.>"}`,
		`{"dialect":"plex","action":"cut_stream","every":"10s"}`,
	)
	for _, tc := range []struct {
		dialect string
		want    RequestFault
	}{
		{"hue", RequestFault{Action: Restart, Rule: "a123456789abcdef", Status: 503, Retry: 31 * time.Second}},
		{"plex", RequestFault{Action: Restart, Rule: "b123456789abcdef", Status: 503, Retry: 3 * time.Second}},
		{"native", RequestFault{Rate: 1000, RateRule: "c123456789abcdef"}},
	} {
		if got, ok := rs.Request(tc.dialect, "k"); !ok || got != tc.want {
			t.Errorf("request %s: %+v %v, want %+v", tc.dialect, got, ok, tc.want)
		}
	}
	for _, tc := range []struct {
		name, dialect string
		f             topic.Filter
		opened        time.Time
		want          StreamFault
	}{
		{"hue, open before", "hue", hueOnly, created.Add(-time.Second), StreamFault{CutAt: created, Restart: true}},
		{"hue, opened after", "hue", hueOnly, created.Add(time.Second), StreamFault{}},
		{"plex, restart first", "plex", appOnly, created.Add(-time.Hour), StreamFault{CutAt: created.Add(time.Second), Restart: true, Rate: 200}},
		{"plex, every first", "plex", appOnly, created.Add(2 * time.Second), StreamFault{CutAt: created.Add(14 * time.Second), Rate: 200}},
		{"native, app", "native", appOnly, created, StreamFault{Rate: 200}},
		{"native, all", "native", nil, created, StreamFault{Rate: 200}},
		{"native, hue only", "native", hueOnly, created, StreamFault{Rate: 1000}},
	} {
		got, _ := rs.Stream(tc.dialect, "k", tc.f, tc.opened)
		if got != tc.want {
			t.Errorf("stream %s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	if n := rs.Len(); n != 5 {
		t.Errorf("Len = %d, want 5", n)
	}
}

// expire_queue expires the queues registered before it was made, of the
// key and queue id it names, and no other.
func TestExpireQueueDecision(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	before, after := created.Add(-time.Minute), created.Add(time.Hour)
	if _, ok := rulesOf(t, nil, `{"action":"status"}`).ExpireQueue("k", "q", before); ok {
		t.Error("a status rule expires a queue")
	}
	rs := rulesOf(t, nil,
		`{"action":"expire_queue","queue_id":"q1"}`,
		`{"action":"expire_queue","key":"k2"}`,
	)
	if !rs.ExpiresQueues() || (*Rules)(nil).ExpiresQueues() {
		t.Fatal("ExpiresQueues")
	}
	for _, tc := range []struct {
		key, qid string
		created  time.Time
		rule     string
	}{
		{"k1", "q1", before, "a123456789abcdef"},
		{"k1", "q1", after, ""},
		{"k1", "q2", before, ""},
		{"k2", "q2", before, "b123456789abcdef"},
		{"k2", "q2", created.Add(time.Second), ""}, // the second rule is a second younger
	} {
		rule, ok := rs.ExpireQueue(tc.key, tc.qid, tc.created)
		if rule != tc.rule || ok != (tc.rule != "") {
			t.Errorf("%s %s %v: %q %v, want %q", tc.key, tc.qid, tc.created, rule, ok, tc.rule)
		}
	}
	if rs.Len() != 2 {
		t.Errorf("Len = %d", rs.Len())
	}
}
