package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-io/herald/client"
	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/webhook"
)

func TestWebhooksCommands(t *testing.T) {
	var mu sync.Mutex
	var seqs []uint64
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct{ Seq uint64 }
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &ev)
		mu.Lock()
		seqs = append(seqs, ev.Seq)
		mu.Unlock()
	}))
	defer rc.Close()
	received := func() []uint64 {
		mu.Lock()
		defer mu.Unlock()
		return append([]uint64(nil), seqs...)
	}
	ts := startServer(t, server.Config{Webhooks: webhook.Config{Policy: webhook.Policy{AllowPrivate: true}}})
	g := ts.globals()
	ctx := context.Background()
	run := func(cmd interface {
		Run(context.Context, *Globals) error
	}) error {
		return cmd.Run(ctx, g)
	}

	var out bytes.Buffer
	if err := run(&WebhooksAddCmd{URL: rc.URL, Topics: []string{"app.>"}, Ordered: true, IO: cmdIO{Stdout: &out}}); err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(out.String())
	if len(fields) < 2 || fields[0] != "added" || !strings.Contains(out.String(), "secret: whsec_") {
		t.Fatalf("add printed %q", out.String())
	}
	id := strings.TrimSuffix(fields[1], ":")

	acks, err := ts.admin().Publish(ctx, client.Draft{Topic: "app.a", Type: "t", Data: json.RawMessage(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool { return len(received()) == 1 })

	out.Reset()
	if err := run(&WebhooksListCmd{IO: cmdIO{Stdout: &out}}); err != nil {
		t.Fatal(err)
	}
	if rows := lines(out.String()); len(rows) != 2 || !strings.HasPrefix(rows[1], id+" ") || !strings.Contains(rows[1], "app.>") {
		t.Fatalf("list:\n%s", out.String())
	}
	out.Reset()
	if err := run(&WebhooksReplayCmd{ID: id, After: acks[0].Seq - 1, IO: cmdIO{Stdout: &out}}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool { return len(received()) == 2 })
	if got := received(); got[1] != acks[0].Seq {
		t.Fatalf("replayed %v", got)
	}
	// The attempts are stored with the position, a moment after.
	waitUntil(t, func() bool {
		out.Reset()
		if err := run(&WebhooksAttemptsCmd{ID: id, IO: cmdIO{Stdout: &out}}); err != nil {
			t.Fatal(err)
		}
		return len(lines(out.String())) == 3
	})
	if rows := lines(out.String()); !strings.Contains(rows[1], " 200 ") || !strings.Contains(rows[2], " 200 ") {
		t.Fatalf("attempts:\n%s", out.String())
	}
	out.Reset()
	if err := run(&WebhooksRemoveCmd{IDs: []string{id}, IO: cmdIO{Stdout: &out}}); err != nil || out.String() != "deleted "+id+"\n" {
		t.Fatalf("remove: %q, %v", out.String(), err)
	}

	err = run(&WebhooksAddCmd{URL: "ftp://x", Topics: []string{"app.>"}, IO: cmdIO{Stdout: &out}})
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != 400 || strings.Contains(err.Error(), "webhooks add") || !strings.HasPrefix(err.Error(), "url:") {
		t.Fatalf("a bad URL: %v", err)
	}
	err = run(&WebhooksRemoveCmd{IDs: []string{id}, IO: cmdIO{Stdout: &out}})
	if !errors.As(err, &ae) || ae.Status != 404 {
		t.Fatalf("removing it again: %v", err)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
