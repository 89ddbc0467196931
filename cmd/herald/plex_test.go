package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/dialect/plex"
	"github.com/herald-io/herald/internal/topic"
)

// plexServer serves the Plex dialect over a real core and returns globals
// naming it with an admin key in <data>/admin.key.
func plexServer(t *testing.T) (*dialecttest.Core, *Globals) {
	t.Helper()
	c := dialecttest.NewCore(t, dialecttest.Options{})
	api, err := plex.New(c.Core, plex.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := c.Serve(t, api.Mount)
	dir := t.TempDir()
	admin := c.Key(t, auth.Spec{Name: "admin", Admin: true})
	if err := os.WriteFile(filepath.Join(dir, "admin.key"), []byte(admin+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return c, &Globals{URL: srv.URL, Data: dir}
}

func TestPlexCommands(t *testing.T) {
	c, g := plexServer(t)
	ctx := context.Background()
	count := func() int {
		t.Helper()
		evs, _, err := c.Log.Read(ctx, 0, topic.Filter{"plex.>"}, 10000)
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}

	var out bytes.Buffer
	scan := PlexSimulateScanCmd{Section: "Movies", SectionID: "1", Kind: "movie", Items: 200, IO: cmdIO{Stdout: &out}}
	if err := scan.Run(ctx, g); err != nil {
		t.Fatal(err)
	}
	n := count()
	if n < 2*200+2 || !strings.Contains(out.String(), "published ") || !strings.Contains(out.String(), "activity ") {
		t.Fatalf("%d events; printed %q", n, out.String())
	}

	out.Reset()
	play := PlexSimulatePlayCmd{Title: "Arrival", Duration: 90 * time.Minute, Updates: 10, IO: cmdIO{Stdout: &out}}
	if err := play.Run(ctx, g); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "session 1, ratingKey ") || count() <= n {
		t.Fatalf("printed %q", out.String())
	}

	out.Reset()
	pref := PlexSimulatePreferenceCmd{ID: "FriendlyName", Value: "den", Type: "text", IO: cmdIO{Stdout: &out}}
	if err := pref.Run(ctx, g); err != nil || !strings.Contains(out.String(), "published 1 events") {
		t.Fatalf("%v %q", err, out.String())
	}
	bad := PlexSimulatePreferenceCmd{ID: "x", Value: "maybe", Type: "bool", IO: cmdIO{Stdout: &out}}
	if err := bad.Run(ctx, g); err == nil || !strings.Contains(err.Error(), "not a bool") {
		t.Fatalf("bad preference: %v", err)
	}

	out.Reset()
	var errOut bytes.Buffer
	tok := PlexTokenCreateCmd{Name: "tautulli", IO: cmdIO{Stdout: &out, Stderr: &errOut}}
	if err := tok.Run(ctx, g); err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(out.String())
	if len(fields) != 4 || fields[2] != "token" {
		t.Fatalf("printed %q", out.String())
	}
	k, err := c.Auth.Authenticate(ctx, fields[3])
	if err != nil || k.Dialect != "plex" || k.Name != "tautulli" {
		t.Fatalf("token: %+v %v", k, err)
	}

	// A Plex token is not an admin key.
	g.Key = fields[3]
	if err := scan.Run(ctx, g); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("scan with a Plex token: %v", err)
	}
	g.Key = ""

	out.Reset()
	list := PlexTokenListCmd{IO: cmdIO{Stdout: &out}}
	if err := list.Run(ctx, g); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 2 ||
		!strings.HasPrefix(lines[0], "ID ") || !strings.HasPrefix(lines[1], fields[1]+" ") || !strings.Contains(lines[1], "tautulli") {
		t.Fatalf("token list printed %q", out.String())
	}
	out.Reset()
	revoke := PlexTokenRevokeCmd{ID: fields[1], IO: cmdIO{Stdout: &out}}
	if err := revoke.Run(ctx, g); err != nil || out.String() != "revoked "+fields[1]+"\n" {
		t.Fatalf("revoke: %v %q", err, out.String())
	}
	if _, err := c.Auth.Authenticate(ctx, fields[3]); err == nil {
		t.Fatal("the revoked token still authenticates")
	}
	if err := revoke.Run(ctx, g); err == nil || !strings.Contains(err.Error(), "(404 not_found)") {
		t.Fatalf("revoke twice: %v", err)
	}
}

func TestPlexParse(t *testing.T) {
	type plexCLI struct {
		Globals
		Plex PlexCmd `cmd:""`
	}
	parser := func(cli *plexCLI) *kong.Kong { return newParser(t, cli) }
	var cli plexCLI
	p := parser(&cli)
	if _, err := p.Parse([]string{"plex", "simulate", "scan", "--section", "Films", "--items", "20", "--kind", "show"}); err != nil {
		t.Fatal(err)
	}
	if s := cli.Plex.Simulate.Scan; s.Section != "Films" || s.Items != 20 || s.Kind != "show" || s.SectionID != "1" {
		t.Fatalf("scan %+v", s)
	}
	if _, err := p.Parse([]string{"plex", "simulate", "play", "--title", "Arrival", "--duration", "90m", "--pause"}); err != nil {
		t.Fatal(err)
	}
	if s := cli.Plex.Simulate.Play; s.Title != "Arrival" || s.Duration != 90*time.Minute || !s.Pause || s.Updates != 10 {
		t.Fatalf("play %+v", s)
	}
	if _, err := p.Parse([]string{"plex", "simulate", "preference", "--id", "x", "--value", "1", "--type", "int"}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Parse([]string{"plex", "token", "create", "--name", "t"}); err != nil || cli.Plex.Token.Create.Name != "t" {
		t.Fatalf("token create: %v", err)
	}
	if _, err := p.Parse([]string{"plex", "token", "revoke", "abc"}); err != nil || cli.Plex.Token.Revoke.ID != "abc" {
		t.Fatalf("token revoke: %v", err)
	}
	if _, err := p.Parse([]string{"plex", "token", "list"}); err != nil {
		t.Fatalf("token list: %v", err)
	}
	for _, args := range [][]string{
		{"plex", "token", "revoke"},
		{"plex", "simulate", "scan", "--kind", "photo"},
		{"plex", "simulate", "preference", "--id", "x"},
		{"plex", "token", "create"},
	} {
		if _, err := parser(&plexCLI{}).Parse(args); err == nil {
			t.Errorf("%v parsed", args)
		}
	}
}
