package connector_test

import (
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/connector"
)

// A connector runs on the node holding its lease, and what it reports is
// its state in the API and in the node's metrics.
func TestRunAndReport(t *testing.T) {
	e := newEnv(t)
	if r := e.do(t, "POST", "/v1/connectors", e.admin, `{"name":"home","kind":"fake","url":"http://up","key":"k"}`); r.status != 201 {
		t.Fatalf("POST: %d %s", r.status, r.body)
	}
	var v connector.View
	waitFor(t, "the state to be written", func() bool {
		v = e.view(t, "home")
		return v.State.Connected && v.State.Events == 2
	})
	if v.Node != e.core.Node || v.Position != "pos-1" || v.State.LastEvent == nil ||
		!v.State.LastEvent.Equal(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)) || v.State.Node != e.core.Node {
		t.Fatalf("view: %+v", v)
	}
	m := e.core.Metrics
	if got := value(m.ConnectorConnected.WithLabelValues("home", "fake")); got != 1 {
		t.Errorf("connected gauge %v", got)
	}
	if got := value(m.ConnectorEvents.WithLabelValues("home", "fake")); got != 2 {
		t.Errorf("events counter %v", got)
	}
	if r := e.do(t, "DELETE", "/v1/connectors/home", e.admin, ""); r.status != 204 {
		t.Fatalf("DELETE: %d", r.status)
	}
	// Its series go with it, and its state is not written back.
	waitFor(t, "the series to go", func() bool { return series(m.ConnectorConnected) == 0 })
	time.Sleep(100 * time.Millisecond) // several state periods
	if r := e.do(t, "POST", "/v1/connectors", e.admin, `{"name":"home","kind":"fake","url":"http://up","key":"refused"}`); r.status != 201 {
		t.Fatalf("POST again: %d %s", r.status, r.body)
	}
	waitFor(t, "the new connector's state", func() bool { return e.view(t, "home").State.Stopped })
	if v := e.view(t, "home"); v.State.Events != 0 || v.Position != "" {
		t.Fatalf("a deleted connector's state came back: %+v", v)
	}
}

// An upstream that refuses the key stops the connector, says so, and it is
// not run again until its definition changes.
func TestRefusedStaysStopped(t *testing.T) {
	e := newEnv(t)
	if r := e.do(t, "POST", "/v1/connectors", e.admin, `{"name":"home","kind":"fake","url":"http://up","key":"refused"}`); r.status != 201 {
		t.Fatalf("POST: %d %s", r.status, r.body)
	}
	var v connector.View
	waitFor(t, "the connector to stop", func() bool {
		v = e.view(t, "home")
		return v.State.Stopped
	})
	if !strings.Contains(v.State.LastError, "connector stopped") || !strings.Contains(v.State.LastError, "401") || v.State.Connected {
		t.Fatalf("state: %+v", v.State)
	}
	// A node restart (here: the service) does not run it again.
	e.svc.Close()
	e.svc.Start()
	time.Sleep(200 * time.Millisecond)
	if n := e.fake.runsOf("home"); n != 1 {
		t.Fatalf("a stopped connector ran %d times", n)
	}
	if r := e.do(t, "POST", "/v1/connectors", e.admin, `{"name":"home","kind":"fake","url":"http://up","key":"good"}`); r.status != 200 {
		t.Fatalf("replace: %d %s", r.status, r.body)
	}
	waitFor(t, "the changed connector to run", func() bool {
		v = e.view(t, "home")
		return v.State.Connected && !v.State.Stopped
	})
	if n := e.fake.runsOf("home"); n != 2 {
		t.Fatalf("runs = %d, want 2", n)
	}
}

// Observers see every node's specs of their kind, secrets included.
func TestObserve(t *testing.T) {
	e := newEnv(t)
	waitFor(t, "the first observation", func() bool { _, ok := e.fake.lastObserved(); return ok })
	for _, name := range []string{"b", "a"} {
		if r := e.do(t, "POST", "/v1/connectors", e.admin, `{"name":"`+name+`","kind":"fake","url":"http://up","key":"k-`+name+`"}`); r.status != 201 {
			t.Fatalf("POST: %d %s", r.status, r.body)
		}
	}
	waitFor(t, "both specs", func() bool {
		s, _ := e.fake.lastObserved()
		return len(s) == 2 && s[0].Name == "a" && s[1].Key == "k-b"
	})
	e.do(t, "DELETE", "/v1/connectors/a", e.admin, "")
	waitFor(t, "one spec", func() bool { s, _ := e.fake.lastObserved(); return len(s) == 1 && s[0].Name == "b" })
}
