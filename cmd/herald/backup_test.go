package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/herald-io/herald/client"
	"github.com/herald-io/herald/internal/server"
)

// herald backup of a running server, herald restore into a new data
// directory, and a server started there has the events; a second restore
// is refused unless forced.
func TestBackupRestoreCommands(t *testing.T) {
	ctx := context.Background()
	a := startServer(t, server.Config{})
	for i := range 5 {
		if _, err := a.admin().Publish(ctx, client.Draft{Topic: "app.cmd", ID: fmt.Sprint("c", i)}); err != nil {
			t.Fatal(err)
		}
	}
	want := pollAll(t, a.admin(), 5, "app.cmd")
	file := filepath.Join(t.TempDir(), "herald.tar")
	var stderr bytes.Buffer
	if err := (&BackupCmd{File: file, Progress: "never", IO: cmdIO{Stderr: &stderr}}).Run(ctx, a.globals()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "5 events (1 to 5)") {
		t.Fatalf("backup said %q", stderr.String())
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(file), ".*partial*")); len(left) > 0 {
		t.Fatalf("left behind: %v", left)
	}
	a.Stop()
	if err := (&BackupCmd{File: file + "2", Progress: "never", IO: cmdIO{Stderr: io.Discard}}).Run(ctx, a.globals()); err == nil {
		t.Fatal("a backup of a stopped server succeeded")
	}

	dir := t.TempDir()
	g := &Globals{Data: dir}
	restore := func(force bool) error {
		return (&RestoreCmd{File: file, Force: force, Progress: "never", IO: cmdIO{Stderr: io.Discard}}).Run(ctx, g)
	}
	if err := restore(false); err != nil {
		t.Fatal(err)
	}
	if err := restore(false); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("a second restore: %v", err)
	}
	if err := restore(true); err != nil {
		t.Fatalf("forced restore: %v", err)
	}
	b := startServer(t, server.Config{DataDir: dir})
	if got := pollAll(t, b.admin(), 5, "app.cmd"); !slices.EqualFunc(got, want, sameEvent) {
		t.Fatalf("after the restore: %+v, want %+v", got, want)
	}

	bad := filepath.Join(t.TempDir(), "bad.tar")
	os.WriteFile(bad, []byte("not an archive"), 0o600)
	err := (&RestoreCmd{File: bad, Progress: "never", IO: cmdIO{Stderr: io.Discard}}).Run(ctx, &Globals{Data: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "not a valid herald backup") {
		t.Fatalf("restore of a bad file: %v", err)
	}
}

func sameEvent(a, b client.Event) bool {
	return a.Seq == b.Seq && a.ID == b.ID && a.Time.Equal(b.Time) && a.Topic == b.Topic && a.Type == b.Type && bytes.Equal(a.Data, b.Data)
}

// countingProxy forwards to target and counts the publishes it forwards.
func countingProxy(t *testing.T, target string) (string, *atomic.Int64) {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	var posts atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts.Add(1)
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &posts
}

// Export then import into a new server gives the same events, with their
// ids, types and data, in order (Hue's and Zulip's namespaces too); a
// second import sends nothing, because the ids are there already.
func TestExportImport(t *testing.T) {
	ctx := context.Background()
	a := startServer(t, server.Config{})
	var drafts []client.Draft
	for i := range 2500 {
		drafts = append(drafts, client.Draft{Topic: fmt.Sprint("app.ex.", i%3), Type: "t", Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))})
	}
	drafts = append(drafts, client.Draft{Topic: "hue.light.x", Type: "update", Data: json.RawMessage(`{"on":true}`), ID: "hue-1"},
		client.Draft{Topic: "zulip.acme.message", Type: "message", Data: json.RawMessage(`{"content":"hi"}`), ID: "z-1"})
	for c := range slices.Chunk(drafts, client.MaxPublish) {
		if _, err := a.admin().Publish(ctx, c...); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(t.TempDir(), "events.ndjson")
	var stderr bytes.Buffer
	if err := (&ExportCmd{Output: file, IO: cmdIO{Stderr: &stderr}}).Run(ctx, a.globals()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "exported 2502 events (1 to 2502)") {
		t.Fatalf("export said %q", stderr.String())
	}
	exported := readNDJSONEvents(t, file)
	if len(exported) != 2502 || exported[2500].ID != "hue-1" || exported[2501].Topic != "zulip.acme.message" {
		t.Fatalf("export: %d events", len(exported))
	}
	// --after and --topics select.
	var out bytes.Buffer
	if err := (&ExportCmd{After: new(uint64(2400)), Topics: []string{"app.ex.0"}, IO: cmdIO{Stdout: &out, Stderr: io.Discard}}).Run(ctx, a.globals()); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "\n"); n != 34 { // i = 2400..2499 (seqs 2401..2500), every third
		t.Fatalf("export --after 2400 --topics app.ex.0: %d lines", n)
	}

	b := startServer(t, server.Config{})
	g := b.globals()
	proxy, posts := countingProxy(t, b.url())
	g.URL = proxy
	imp := func() string {
		t.Helper()
		var stderr bytes.Buffer
		if err := (&ImportCmd{File: file, Progress: "never", IO: cmdIO{Stdout: io.Discard, Stderr: &stderr}}).Run(ctx, g); err != nil {
			t.Fatal(err)
		}
		return stderr.String()
	}
	imp()
	got := pollAll(t, b.admin(), 2502, allTopics...)
	if !slices.EqualFunc(got, exported, func(g, e client.Event) bool {
		return g.ID == e.ID && g.Topic == e.Topic && g.Type == e.Type && bytes.Equal(g.Data, e.Data)
	}) {
		t.Fatalf("imported %d events, not the %d exported", len(got), len(exported))
	}
	before := posts.Load()
	if said := imp(); !strings.Contains(said, "2502 of them were already stored") {
		t.Fatalf("second import said %q", said)
	}
	if n := posts.Load() - before; n != 0 {
		t.Fatalf("the second import sent %d publishes", n)
	}
	if again := pollAll(t, b.admin(), 2502, allTopics...); len(again) != 2502 {
		t.Fatalf("after a second import: %d events", len(again))
	}
}

// A file with a bad line is refused before anything is stored.
func TestImportBadLine(t *testing.T) {
	ts := startServer(t, server.Config{})
	var b strings.Builder
	for i := range 1500 {
		fmt.Fprintf(&b, `{"seq":%d,"id":"i%d","time":"2026-01-02T03:04:05Z","topic":"app.imp","type":"t","data":%d}`+"\n", i+1, i, i)
	}
	b.WriteString("this is not JSON\n")
	file := filepath.Join(t.TempDir(), "bad.ndjson")
	os.WriteFile(file, []byte(b.String()), 0o600)
	err := (&ImportCmd{File: file, Progress: "never", IO: cmdIO{Stdout: io.Discard, Stderr: io.Discard}}).Run(context.Background(), ts.globals())
	if err == nil || !strings.Contains(err.Error(), "line 1501") || !strings.Contains(err.Error(), "nothing was imported") {
		t.Fatalf("import of a bad file: %v", err)
	}
	if got := pollAll(t, ts.admin(), 0, "app.imp"); len(got) != 0 {
		t.Fatalf("%d events stored", len(got))
	}
}

func readNDJSONEvents(t *testing.T, path string) []client.Event {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []client.Event
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e client.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %d: %v", len(out)+1, err)
		}
		out = append(out, e)
	}
	return out
}
