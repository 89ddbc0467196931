package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/client"
	"github.com/herald-io/herald/internal/server"
)

func TestConnectorsCommands(t *testing.T) {
	ts := startServer(t, server.Config{})
	g := ts.globals()
	ctx := context.Background()
	list := func() []string {
		t.Helper()
		var out bytes.Buffer
		if err := (&ConnectorsListCmd{IO: cmdIO{Stdout: &out}}).Run(ctx, g); err != nil {
			t.Fatal(err)
		}
		return lines(out.String())
	}
	// A Jetstream connector to this very server with a key it does not
	// know: it is stopped by the 401, and the list says so.
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte("00000000-0000-4000-8000-000000000000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	add := ConnectorsAddCmd{Name: "rfid", Kind: "jetstream", UpstreamURL: ts.url(), UpstreamKeyFile: keyFile, IO: cmdIO{Stdout: &out}}
	if err := add.Run(ctx, g); err != nil || out.String() != "connector rfid: jetstream "+ts.url()+"\n" {
		t.Fatalf("add printed %q, %v", out.String(), err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for rows := list(); !strings.Contains(strings.Join(rows, "\n"), "stopped"); rows = list() {
		if time.Now().After(deadline) {
			t.Fatalf("list:\n%s", strings.Join(rows, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	rows := list()
	if len(rows) != 2 || strings.Join(strings.Fields(rows[0]), " ") != "NAME KIND URL NODE STATE EVENTS RECONNECTS LAST ERROR" ||
		!strings.HasPrefix(rows[1], "rfid ") || !strings.Contains(rows[1], "401") || strings.Contains(rows[1], "00000000-0000") {
		t.Fatalf("list:\n%s", strings.Join(rows, "\n"))
	}
	// Refusals read as every command's do.
	t.Setenv("HERALD_UPSTREAM_KEY", "k")
	err := (&ConnectorsAddCmd{Name: "x", Kind: "telegraph", UpstreamURL: ts.url(), IO: cmdIO{Stdout: &out}}).Run(ctx, g)
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != 400 || !strings.Contains(err.Error(), "kind") {
		t.Fatalf("bad kind: %v", err)
	}
	out.Reset()
	if err := (&ConnectorsRemoveCmd{Names: []string{"rfid"}, IO: cmdIO{Stdout: &out}}).Run(ctx, g); err != nil || out.String() != "removed rfid\n" {
		t.Fatalf("remove: %q %v", out.String(), err)
	}
	if err := (&ConnectorsRemoveCmd{Names: []string{"rfid"}, IO: cmdIO{Stdout: &out}}).Run(ctx, g); !errors.As(err, &ae) || ae.Status != 404 {
		t.Fatalf("remove again: %v", err)
	}
	if rows := list(); len(rows) != 1 {
		t.Fatalf("list after remove:\n%s", strings.Join(rows, "\n"))
	}
}
