package client_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/herald-io/herald/client"
	"github.com/herald-io/herald/internal/server"
)

func TestKeys(t *testing.T) {
	ts := startServer(t, server.Config{})
	admin := ts.adminClient()
	ctx := testContext(t)

	spec := client.KeySpec{Name: "sensor", Publish: []string{"app.sensor.>"}, Subscribe: []string{"app.>"}, Rate: 50}
	key, token, err := admin.CreateKey(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if key.ID == "" || token == "" || key.Name != "sensor" || key.Admin || key.Rate != 50 ||
		!slices.Equal(key.Publish, spec.Publish) || !slices.Equal(key.Subscribe, spec.Subscribe) || key.Created.IsZero() {
		t.Fatalf("created %+v with token %q", key, token)
	}

	sensor := client.New(ts.URL(), token)
	if _, err := sensor.Publish(ctx, drafts("app.sensor.t1", 0, 1)...); err != nil {
		t.Fatalf("publish in scope: %v", err)
	}
	if _, err := sensor.Publish(ctx, drafts("app.door", 0, 1)...); !errors.Is(err, client.ErrForbidden) {
		t.Fatalf("publish out of scope = %v, want ErrForbidden", err)
	}
	if _, _, err := sensor.CreateKey(ctx, client.KeySpec{Name: "x"}); !errors.Is(err, client.ErrForbidden) {
		t.Fatalf("non-admin CreateKey = %v, want ErrForbidden", err)
	}

	keys, err := admin.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(keys, func(k client.Key) bool { return k.ID == key.ID })
	if i < 0 || keys[i].Name != "sensor" {
		t.Fatalf("ListKeys = %+v, missing %s", keys, key.ID)
	}
	if !slices.ContainsFunc(keys, func(k client.Key) bool { return k.Admin }) {
		t.Fatalf("ListKeys = %+v, missing the admin key", keys)
	}

	if err := admin.RevokeKey(ctx, key.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := sensor.Publish(ctx, drafts("app.sensor.t1", 1, 1)...); !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("publish with a revoked key = %v, want ErrUnauthorized", err)
	}
	if _, _, err := admin.CreateKey(ctx, client.KeySpec{}); !errors.Is(err, client.ErrBadRequest) {
		t.Fatalf("CreateKey without a name = %v, want ErrBadRequest", err)
	}
}
