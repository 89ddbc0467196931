package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/webhook"
)

// stored returns the events on topic.
func (e *env) stored(t *testing.T, topic string) []eventlog.Event {
	t.Helper()
	evs, _, err := e.c.Log.Read(context.Background(), 0, []string{topic}, 100)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func (e *env) hook(t *testing.T, spec webhook.HookSpec) string {
	t.Helper()
	c, err := e.svc.CreateHook(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	return c.Secret
}

// Each scheme stores a signed request once, however often its sender
// repeats the delivery, and a request that is not signed as it should be
// changes nothing.
func TestInboundSchemes(t *testing.T) {
	e := newEnv(t, webhook.Config{})
	ctx := context.Background()
	body := []byte(`{"type":"invoice.paid","data":{"n":1}}`)
	now := time.Now().Unix()

	std := e.hook(t, webhook.HookSpec{Name: "billing", Topic: "app.in.billing", Scheme: "standard"})
	stdHeader := func(id string, ts int64, secret string) http.Header {
		return http.Header{"Webhook-Id": {id}, "Webhook-Timestamp": {strconv.FormatInt(ts, 10)},
			"Webhook-Signature": {standardSign(t, secret, id, ts, body)}}
	}
	gh := e.hook(t, webhook.HookSpec{Name: "gh", Topic: "app.in.gh", Scheme: "github"})
	ghHeader := func(id, secret string) http.Header {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		return http.Header{"X-Github-Delivery": {id}, "X-Github-Event": {"push"},
			"X-Hub-Signature-256": {"sha256=" + hex.EncodeToString(m.Sum(nil))}}
	}
	tok := e.hook(t, webhook.HookSpec{Name: "ci", Topic: "app.in.ci", Type: "build", Scheme: "bearer"})

	for _, tc := range []struct {
		name, hook string
		h          http.Header
		body       []byte
		kind       dialect.Kind // 0: stored
	}{
		{"standard", "billing", stdHeader("msg_1", now, std), body, 0},
		{"standard again", "billing", stdHeader("msg_1", now+5, std), body, 0},
		{"standard, other secret", "billing", stdHeader("msg_2", now, webhook.NewSecret()), body, dialect.Unauthorized},
		{"standard, 6 min old", "billing", stdHeader("msg_3", now-360, std), body, dialect.Unauthorized},
		{"standard, body changed", "billing", stdHeader("msg_4", now, std), []byte(`{"type":"x"}`), dialect.Unauthorized},
		{"standard, unsigned", "billing", http.Header{}, body, dialect.Unauthorized},
		{"github", "gh", ghHeader("d-1", gh), body, 0},
		{"github again", "gh", ghHeader("d-1", gh), body, 0},
		{"github, other secret", "gh", ghHeader("d-2", "another secret entirely"), body, dialect.Unauthorized},
		{"bearer", "ci", http.Header{"Authorization": {"Bearer " + tok}, "Idempotency-Key": {"b-1"}}, body, 0},
		{"bearer again", "ci", http.Header{"Authorization": {"Bearer " + tok}, "Idempotency-Key": {"b-1"}}, body, 0},
		{"bearer, wrong token", "ci", http.Header{"Authorization": {"Bearer " + tok + "x"}}, body, dialect.Unauthorized},
		{"bearer, not JSON", "ci", http.Header{"Authorization": {"Bearer " + tok}}, []byte("<xml/>"), dialect.BadRequest},
		{"no such hook", "nope", http.Header{}, body, dialect.NotFound},
	} {
		_, err := e.svc.Receive(ctx, tc.hook, tc.h, tc.body)
		if tc.kind == 0 && err != nil || tc.kind != 0 && (err == nil || dialect.Classify(err).Kind != tc.kind) {
			t.Errorf("%s: %v, want kind %v", tc.name, err, tc.kind)
		}
	}
	for _, tc := range []struct{ topic, id, typ string }{
		{"app.in.billing", "hook:billing:msg_1", "invoice.paid"},
		{"app.in.gh", "hook:gh:d-1", "push"},
		{"app.in.ci", "hook:ci:b-1", "build"},
	} {
		evs := e.stored(t, tc.topic)
		if len(evs) != 1 || evs[0].ID != tc.id || evs[0].Type != tc.typ || string(evs[0].Data) != string(body) {
			t.Errorf("%s: stored %+v", tc.topic, evs)
		}
	}
}

// A hook takes no more requests than its rate, before any is checked.
func TestInboundRate(t *testing.T) {
	e := newEnv(t, webhook.Config{HookRate: 1, HookBurst: 2})
	e.hook(t, webhook.HookSpec{Name: "h", Topic: "app.in", Scheme: "bearer"})
	for i := range 2 {
		if err := e.svc.Admit("h"); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	err := e.svc.Admit("h")
	var p *dialect.Problem
	if !errors.As(err, &p) || p.Kind != dialect.RateLimited || p.RetryAfter <= 0 {
		t.Fatalf("third request: %v", err)
	}
	if err := e.svc.Admit("other"); dialect.Classify(err).Kind != dialect.NotFound {
		t.Fatalf("unknown hook: %v", err)
	}
}

func TestHookDefinitions(t *testing.T) {
	e := newEnv(t, webhook.Config{})
	ctx := context.Background()
	for _, spec := range []webhook.HookSpec{
		{Name: "Bad Name", Topic: "app.x", Scheme: "bearer"},
		{Name: "ok", Topic: "app.>", Scheme: "bearer"},
		{Name: "ok", Topic: "zulip.r.message", Scheme: "bearer"},
		{Name: "ok", Topic: "app.x", Scheme: "carrier-pigeon"},
		{Name: "ok", Topic: "app.x", Scheme: "standard", Secret: ptr("not-whsec")},
		{Name: "ok", Topic: "app.x", Scheme: "github", Secret: ptr("short")},
	} {
		if _, err := e.svc.CreateHook(ctx, spec); dialect.Classify(err).Kind != dialect.BadRequest {
			t.Errorf("%+v: %v, want bad request", spec, err)
		}
	}
	e.hook(t, webhook.HookSpec{Name: "ok", Topic: "app.x", Scheme: "bearer"})
	if _, err := e.svc.CreateHook(ctx, webhook.HookSpec{Name: "ok", Topic: "app.y", Scheme: "bearer"}); dialect.Classify(err).Kind != dialect.Conflict {
		t.Errorf("a second ok: %v", err)
	}
	if hs, err := e.svc.Hooks(ctx); err != nil || len(hs) != 1 || hs[0].Name != "ok" {
		t.Errorf("hooks: %+v, %v", hs, err)
	}
	if err := e.svc.DeleteHook(ctx, "ok"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Admit("ok"); dialect.Classify(err).Kind != dialect.NotFound {
		t.Errorf("a deleted hook admits: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }
