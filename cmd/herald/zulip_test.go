package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/dialect/zulip"
)

func TestZulipCommands(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	api, err := zulip.New(c.Core, zulip.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := c.Serve(t, api.Mount)
	g := &Globals{URL: srv.URL, Key: c.Key(t, auth.Spec{Name: "admin", Admin: true}), Data: t.TempDir()}
	ctx := context.Background()

	var out, errOut bytes.Buffer
	add := &ZulipUserAddCmd{Email: "bot@example.com", FullName: "Bot", Bot: true, IO: cmdIO{Stdout: &out, Stderr: &errOut}}
	if err := add.Run(ctx, g); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "email=bot@example.com\nkey=hk_") || !strings.Contains(out.String(), "site="+srv.URL) {
		t.Fatalf("zuliprc: %q", out.String())
	}
	if err := add.Run(ctx, g); err == nil || !strings.Contains(err.Error(), "409") {
		t.Fatalf("second add: %v", err)
	}
	out.Reset()
	if err := (&ZulipStreamAddCmd{Name: "Denmark", IO: cmdIO{Stdout: &out}}).Run(ctx, g); err != nil || out.String() != "stream 1 in realm zulip\n" {
		t.Fatalf("stream add: %v %q", err, out.String())
	}
	out.Reset()
	if err := (&ZulipStreamListCmd{IO: cmdIO{Stdout: &out}}).Run(ctx, g); err != nil || !strings.Contains(out.String(), "Denmark") {
		t.Fatalf("stream list: %v %q", err, out.String())
	}
	out.Reset()
	if err := (&ZulipUserListCmd{IO: cmdIO{Stdout: &out}}).Run(ctx, g); err != nil || !strings.Contains(out.String(), "bot@example.com") {
		t.Fatalf("user list: %v %q", err, out.String())
	}
	if err := (&ZulipUserRemoveCmd{Email: "bot@example.com"}).Run(ctx, g); err != nil {
		t.Fatal(err)
	}
	if err := (&ZulipUserRemoveCmd{Email: "bot@example.com"}).Run(ctx, g); err == nil {
		t.Fatal("removed twice")
	}
	if err := (&ZulipUserListCmd{}).Run(ctx, &Globals{URL: srv.URL, Data: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "no key") {
		t.Fatalf("without a key: %v", err)
	}
}
