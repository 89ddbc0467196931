package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/herald-io/herald/client"
	"github.com/herald-io/herald/internal/server"
)

func TestKeysCommands(t *testing.T) {
	ts := startServer(t, server.Config{})
	g := ts.globals()
	ctx := context.Background()

	var out, errOut bytes.Buffer
	create := KeysCreateCmd{Name: "door sensor", Publish: []string{"app.door.>"}, Subscribe: []string{"app.>", "hue.>"}, Rate: 5,
		IO: cmdIO{Stdout: &out, Stderr: &errOut}}
	if err := create.Run(ctx, g); err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(out.String())
	if len(fields) != 4 || fields[0] != "id" || fields[2] != "token" {
		t.Fatalf("create printed %q, want the id and the token", out.String())
	}
	id, token := fields[1], fields[3]
	if !strings.Contains(errOut.String(), "cannot show it again") {
		t.Errorf("stderr %q does not warn that the token is shown once", errOut.String())
	}

	// The token works, within its scopes.
	sensor := client.New(ts.url(), token)
	if _, err := sensor.Publish(ctx, client.Draft{Topic: "app.door.front"}); err != nil {
		t.Fatalf("publish with the new key: %v", err)
	}
	if _, err := sensor.Publish(ctx, client.Draft{Topic: "app.light"}); !errors.Is(err, client.ErrForbidden) {
		t.Fatalf("publish out of scope = %v, want ErrForbidden", err)
	}

	list := func() []string {
		t.Helper()
		var out bytes.Buffer
		if err := (&KeysListCmd{IO: cmdIO{Stdout: &out}}).Run(ctx, g); err != nil {
			t.Fatal(err)
		}
		return lines(out.String())
	}
	rows := list()
	if len(rows) != 3 || strings.Join(strings.Fields(rows[0]), " ") != "ID NAME ADMIN PUBLISH SUBSCRIBE CREATED" {
		t.Fatalf("list:\n%s", strings.Join(rows, "\n"))
	}
	var row string
	for _, r := range rows[1:] {
		if strings.HasPrefix(r, id+" ") {
			row = r
		}
	}
	for _, want := range []string{"door sensor", "false", "app.door.>", "app.>,hue.>"} {
		if !strings.Contains(row, want) {
			t.Errorf("row %q lacks %q", row, want)
		}
	}
	if strings.Contains(strings.Join(rows, "\n"), token) {
		t.Error("list shows a token")
	}

	out.Reset()
	if err := (&KeysRevokeCmd{ID: id, IO: cmdIO{Stdout: &out}}).Run(ctx, g); err != nil {
		t.Fatal(err)
	}
	if out.String() != "revoked "+id+"\n" {
		t.Errorf("revoke printed %q", out.String())
	}
	if rows := list(); len(rows) != 2 || strings.Contains(strings.Join(rows, "\n"), id) {
		t.Fatalf("list after revoke:\n%s", strings.Join(rows, "\n"))
	}
	if _, err := sensor.Publish(ctx, client.Draft{Topic: "app.door.front"}); !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("publish with the revoked key = %v, want ErrUnauthorized", err)
	}
	err := (&KeysRevokeCmd{ID: id, IO: cmdIO{Stdout: io.Discard}}).Run(ctx, g)
	if !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("revoking again = %v, want ErrNotFound", err)
	}
}

func TestKeysNeedAdmin(t *testing.T) {
	ts := startServer(t, server.Config{})
	_, token, err := ts.admin().CreateKey(context.Background(), client.KeySpec{Name: "plain", Subscribe: []string{"app.>"}})
	if err != nil {
		t.Fatal(err)
	}
	g := ts.globals()
	g.Key = token
	ctx := context.Background()
	tests := []struct {
		name string
		run  func() error
	}{
		{"create", func() error {
			return (&KeysCreateCmd{Name: "x", IO: cmdIO{Stdout: io.Discard, Stderr: io.Discard}}).Run(ctx, g)
		}},
		{"list", func() error { return (&KeysListCmd{IO: cmdIO{Stdout: io.Discard}}).Run(ctx, g) }},
		{"revoke", func() error {
			return (&KeysRevokeCmd{ID: "0123456789abcdef", IO: cmdIO{Stdout: io.Discard}}).Run(ctx, g)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run(); !errors.Is(err, client.ErrForbidden) {
				t.Fatalf("%s with a plain key = %v, want ErrForbidden", tt.name, err)
			}
		})
	}
}
