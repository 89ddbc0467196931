package webhook_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/webhook"
)

// Every refusal names its field, and stores nothing.
func TestSpecRefusals(t *testing.T) {
	e := newEnv(t, webhook.Config{})
	ctx := context.Background()
	for _, tc := range []struct{ body, field string }{
		{`{"topics":["app.>"]}`, "url"},
		{`{"url":"https://example.org"}`, "topics"},
		{`{"url":"https://example.org","topics":[]}`, "topics"},
		{`{"url":"https://example.org","topics":["app..x"]}`, "topics"},
		{`{"url":"https://example.org","topics":["app.>"],"secret":"nope"}`, "secret"},
		{`{"url":"https://example.org","topics":["app.>"],"rate":-1}`, "rate"},
		{`{"url":"https://example.org","topics":["app.>"],"headers":{"webhook-id":"x"}}`, "headers"},
		{`{"url":"https://example.org","topics":["app.>"],"headers":{"X-A":"a\nb"}}`, "headers"},
		{`{"url":"https://example.org","topics":["app.>"],"headers":{"bad name":"x"}}`, "headers"},
		{`{"url":"https://example.org","topics":["app.>"],"rotate":true}`, "rotate"},
		{`{"url":"https://example.org","topics":["app.>"],"colour":"red"}`, "colour"},
		{`{"url":7}`, "url"},
		{`[]`, "body"},
		{`{} {}`, "body"},
	} {
		s, err := webhook.ParseSpec([]byte(tc.body))
		if err == nil {
			_, err = e.svc.Create(ctx, e.admin, s)
		}
		var fe *webhook.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || dialect.Classify(err).Kind != dialect.BadRequest {
			t.Errorf("%s: %v, want a %s error", tc.body, err, tc.field)
		}
	}
	if l, err := e.svc.List(ctx, e.admin); err != nil || len(l) != 0 {
		t.Fatalf("refusals stored %+v, %v", l, err)
	}
	s, _ := webhook.ParseSpec([]byte(`{"url":"https://example.org","topics":["app.>"],"after":999999}`))
	if _, err := e.svc.Create(ctx, e.admin, s); dialect.Classify(err).Kind != dialect.PositionAhead {
		t.Errorf("after past the end: %v", err)
	}
}

// A key may have endpoints on what it may read, and sees only its own;
// the secret is shown when made and never again.
func TestOwnership(t *testing.T) {
	e := newEnv(t, webhook.Config{})
	ctx := context.Background()
	app := key(t, e.c, auth.Spec{Name: "app", Subscribe: []string{"app.>"}})
	other := key(t, e.c, auth.Spec{Name: "other", Subscribe: []string{"app.>"}})
	spec := func(body string) webhook.Spec {
		s, err := webhook.ParseSpec([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if _, err := e.svc.Create(ctx, app, spec(`{"url":"https://example.org","topics":["other.>"]}`)); !errors.Is(err, webhook.ErrReadScope) {
		t.Fatalf("outside the read scope: %v", err)
	}
	c, err := e.svc.Create(ctx, app, spec(`{"url":"https://example.org","topics":["app.a"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Update(ctx, app, c.ID, spec(`{"topics":[">"]}`)); !errors.Is(err, webhook.ErrReadScope) {
		t.Fatalf("widened past the scope: %v", err)
	}
	if _, err := e.svc.Get(ctx, other, c.ID); !errors.Is(err, webhook.ErrNotFound) {
		t.Fatalf("another key's: %v", err)
	}
	if err := e.svc.Delete(ctx, other, c.ID); !errors.Is(err, webhook.ErrNotFound) {
		t.Fatalf("another key deletes: %v", err)
	}
	for _, k := range []*auth.Key{app, e.admin} {
		l, err := e.svc.List(ctx, k)
		if err != nil || len(l) != 1 || l[0].ID != c.ID {
			t.Fatalf("list as %s: %+v, %v", k.Name, l, err)
		}
	}
	if l, _ := e.svc.List(ctx, other); len(l) != 0 {
		t.Fatalf("other lists %+v", l)
	}
	v, _ := e.svc.Get(ctx, app, c.ID)
	if strings.Contains(strings.ToLower(jsonOf(t, v)), "whsec_") {
		t.Fatalf("GET shows a secret: %s", jsonOf(t, v))
	}
	if err := e.svc.Delete(ctx, app, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Get(ctx, app, c.ID); !errors.Is(err, webhook.ErrNotFound) {
		t.Fatalf("after DELETE: %v", err)
	}
}
