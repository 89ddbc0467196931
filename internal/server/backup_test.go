package server_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/backup"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
)

// A backup of a running server, restored into a fresh data directory,
// brings back all of its state: the events at their positions and with
// their ids, a key, a native subscription's position and pending batch, a
// Jetstream subscription's, and a Hue resource's state. The node registry
// is not part of it.
func TestBackupRestoresEverything(t *testing.T) {
	a := servertest.Start(t, server.Config{})
	call := func(s *servertest.Server, method, path string, hdr http.Header, body string, out any) int {
		t.Helper()
		st, _, _ := request(t, nil, method, s.URL()+path, hdr, body, out)
		return st
	}
	admin := http.Header{"Authorization": {"Bearer " + a.Admin}, "Content-Type": {"application/json"}}

	// Events, and a native subscription that acknowledged two and holds the
	// third pending.
	if st := call(a, "PUT", "/v1/subscriptions/keep", admin, `{"topics":["app.bk.>"],"start":"earliest"}`, nil); st != 201 {
		t.Fatalf("create subscription: %d", st)
	}
	for i := 1; i <= 3; i++ {
		if st := call(a, "POST", "/v1/events", admin, fmt.Sprintf(`{"topic":"app.bk.x","id":"bk%d","data":{"n":%d}}`, i, i), nil); st != 201 {
			t.Fatalf("publish: %d", st)
		}
	}
	type nbatch struct {
		Batch  string
		Events []struct {
			Seq uint64
			ID  string
		}
	}
	var first, pending nbatch
	call(a, "GET", "/v1/subscriptions/keep/events?limit=2", admin, "", &first)
	if st := call(a, "POST", "/v1/subscriptions/keep/ack", admin, `{"batch":"`+first.Batch+`"}`, nil); st != 200 {
		t.Fatalf("ack: %d", st)
	}
	if call(a, "GET", "/v1/subscriptions/keep/events", admin, "", &pending); len(pending.Events) != 1 || pending.Events[0].ID != "bk3" {
		t.Fatalf("pending batch: %+v", pending)
	}

	// A key.
	var key struct{ Token string }
	if st := call(a, "POST", "/v1/keys", admin, `{"name":"reader","subscribe":["app.>"]}`, &key); st != 201 || key.Token == "" {
		t.Fatalf("create key: %d", st)
	}

	// Jetstream: two heartbeats acknowledged, a third pending.
	var ju struct {
		AccessKey string `json:"access_key"`
	}
	if st := call(a, "POST", "/v1/jetstream/users", admin, `{"name":"dock"}`, &ju); st != 201 {
		t.Fatalf("jetstream user: %d", st)
	}
	access := http.Header{"AccessKey": {ju.AccessKey}, "Content-Type": {"application/json"}}
	call(a, "GET", "/3/events", access, "", nil) // the first GET subscribes
	for range 3 {
		if st := call(a, "POST", "/v1/jetstream/simulate", admin, `{"device":"dock-1","heartbeat":true}`, nil); st != 201 {
			t.Fatalf("simulate: %d", st)
		}
	}
	type jbatch struct {
		BatchID string `json:"BatchId"`
		Events  []struct {
			EventID string `json:"EventId"`
		}
	}
	var jfirst, jpending jbatch
	if call(a, "GET", "/3/events/2", access, "", &jfirst); len(jfirst.Events) != 2 {
		t.Fatalf("jetstream first batch: %+v", jfirst)
	}
	if st := call(a, "DELETE", "/3/events", access, `{"BatchId":"`+jfirst.BatchID+`"}`, nil); st != 204 {
		t.Fatalf("delete batch: %d", st)
	}
	if call(a, "GET", "/3/events", access, "", &jpending); len(jpending.Events) != 1 {
		t.Fatalf("jetstream pending batch: %+v", jpending)
	}

	// Hue: a lamp dimmed to 42 %.
	var dev struct {
		Data []struct{ RID, RType string }
	}
	if st := call(a, "POST", "/v1/hue/devices", admin, `{"product":"color_lamp","name":"Desk"}`, &dev); st != 201 {
		t.Fatalf("add lamp: %d", st)
	}
	light := ""
	for _, r := range dev.Data {
		if r.RType == "light" {
			light = r.RID
		}
	}
	hue := http.Header{"hue-application-key": {a.Admin}, "Content-Type": {"application/json"}}
	if st := call(a, "PUT", "/clip/v2/resource/light/"+light, hue, `{"dimming":{"brightness":42}}`, nil); st != 200 {
		t.Fatalf("dim: %d", st)
	}

	// The backup, of the running server.
	st, hdr, archive := request(t, nil, "GET", a.URL()+"/v1/backup", admin, "", nil)
	if st != 200 || hdr.Get("Content-Type") != "application/x-tar" || hdr.Get("Content-Length") != fmt.Sprint(len(archive)) {
		t.Fatalf("GET /v1/backup: %d %v, %d bytes", st, hdr, len(archive))
	}
	var lastSeq uint64
	var events []struct {
		Seq uint64
		ID  string
	}
	var all struct {
		Events []struct {
			Seq uint64
			ID  string
		}
	}
	call(a, "GET", "/v1/events?after=0&topics=>,zulip.>&limit=1000", admin, "", &all)
	events = all.Events
	lastSeq = events[len(events)-1].Seq
	a.Stop()

	file := filepath.Join(t.TempDir(), "herald.tar")
	if err := os.WriteFile(file, archive, 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	eng, err := eventlog.OpenEngine(eventlog.Config{Dir: server.EngineDir(dir)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, err := backup.Restore(ctx, eng, file, backup.RestoreOptions{})
	eng.Close()
	if err != nil {
		t.Fatal(err)
	}
	if m.Streams[len(m.Streams)-1].LastSeq != lastSeq {
		t.Fatalf("manifest: log up to %d, the server's was %d", m.Streams[len(m.Streams)-1].LastSeq, lastSeq)
	}
	for _, s := range m.Streams {
		if s.Name == "KV_herald-nodes" {
			t.Fatal("the node registry was backed up")
		}
	}

	b := servertest.Start(t, server.Config{DataDir: dir})
	admin = http.Header{"Authorization": {"Bearer " + a.Admin}, "Content-Type": {"application/json"}} // the old admin key
	var got struct {
		Events []struct {
			Seq uint64
			ID  string
		}
	}
	if st := call(b, "GET", "/v1/events?after=0&topics=>,zulip.>&limit=1000", admin, "", &got); st != 200 || !slices.Equal(got.Events, events) {
		t.Fatalf("events after the restore: %d\n%+v\nwant %+v", st, got.Events, events)
	}
	if st := call(b, "GET", "/v1/events?after=0&topics=app.bk.>", http.Header{"Authorization": {"Bearer " + key.Token}}, "", nil); st != 200 {
		t.Fatalf("the restored key: %d", st)
	}
	var again nbatch
	if call(b, "GET", "/v1/subscriptions/keep/events", admin, "", &again); again.Batch != pending.Batch || !slices.Equal(again.Events, pending.Events) {
		t.Fatalf("native subscription after the restore: %+v, want %+v", again, pending)
	}
	var jagain jbatch
	if call(b, "GET", "/3/events", access, "", &jagain); jagain.BatchID != jpending.BatchID || !slices.Equal(jagain.Events, jpending.Events) {
		t.Fatalf("jetstream subscription after the restore: %+v, want %+v", jagain, jpending)
	}
	var lamp struct {
		Data []struct {
			Dimming struct{ Brightness float64 }
		}
	}
	hue = http.Header{"hue-application-key": {a.Admin}}
	if st := call(b, "GET", "/clip/v2/resource/light/"+light, hue, "", &lamp); st != 200 || len(lamp.Data) != 1 || lamp.Data[0].Dimming.Brightness != 42 {
		t.Fatalf("hue light after the restore: %d %+v", st, lamp)
	}
	var cluster struct {
		Nodes []struct{ ID string }
	}
	if call(b, "GET", "/v1/cluster", admin, "", &cluster); len(cluster.Nodes) != 1 {
		t.Fatalf("nodes after the restore: %+v", cluster.Nodes)
	}
}
