package terso

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/eventlog"
)

// TestLegacyUsersImported: a user stored by a released version (its own
// record in the herald-jetstream bucket) keeps working, on every node
// however many start at once, and is removed whole.
func TestLegacyUsersImported(t *testing.T) {
	const accessKey = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"
	sum := sha256.Sum256([]byte(accessKey))
	hash := hex.EncodeToString(sum[:])
	var keyID string
	var legacy eventlog.KV
	e := setupWith(t, Config{}, func(c *dialecttest.Core, _ *clock) {
		ctx := context.Background()
		// What a released version's createUser stored.
		key, _, err := c.Auth.Create(ctx, auth.Spec{Name: "old dock", Subscribe: []string{"jetstream.reader-1.>"},
			Dialect: Dialect, Meta: map[string]string{"access_key_sha256": hash}})
		if err != nil {
			t.Fatal(err)
		}
		keyID = key.ID
		rec, _ := json.Marshal(map[string]any{"key_id": key.ID, "name": key.Name, "sha256": hash,
			"devices": []string{"reader-1"}, "created": key.Created})
		if legacy, err = c.Log.KV(ctx, "herald-jetstream"); err != nil {
			t.Fatal(err)
		}
		if _, err := legacy.Create(ctx, "user."+hash[:16], rec); err != nil {
			t.Fatal(err)
		}
	})
	// More nodes starting at once import the same users without error.
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = New(e.core.Core, Config{})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for _, ak := range []string{accessKey, strings.ToUpper(accessKey)} {
		if r := e.sdk("GET", "/3/events", ak, "", nil); r.status != 200 {
			t.Fatalf("stored user's access key %s: %d %s", ak, r.status, r.body)
		}
	}
	e.append("reader-1", "HeartbeatEvent", heartbeat("reader-1", guid(1)))
	var d eventsDto
	if e.sdk("GET", "/3/events", accessKey, "", &d); d.Count != 1 {
		t.Fatalf("stored user's events: %+v", d)
	}
	adm := map[string]string{"Authorization": "Bearer " + e.admin}
	var list struct{ Users []User }
	e.do("GET", "/v1/jetstream/users", adm, "", &list)
	if len(list.Users) != 1 || list.Users[0].ID != keyID || list.Users[0].Name != "old dock" ||
		len(list.Users[0].Devices) != 1 || list.Users[0].Devices[0] != "reader-1" || !list.Users[0].Subscribed {
		t.Fatalf("users %+v", list.Users)
	}
	if r := e.do("DELETE", "/v1/jetstream/users/"+keyID, adm, "", nil); r.status != 204 {
		t.Fatalf("remove: %d %s", r.status, r.body)
	}
	if r := e.sdk("GET", "/3/events", accessKey, "", nil); r.status != 401 {
		t.Fatalf("removed stored user: %d", r.status)
	}
	if _, err := legacy.Get(t.Context(), "user."+hash[:16]); !errors.Is(err, eventlog.ErrKeyNotFound) {
		t.Fatalf("stored record survived its user: %v", err)
	}
	// A restart does not bring it back.
	if _, err := New(e.core.Core, Config{}); err != nil {
		t.Fatal(err)
	}
	if r := e.sdk("GET", "/3/events", accessKey, "", nil); r.status != 401 {
		t.Fatalf("removed stored user after a restart: %d", r.status)
	}
}

// TestUserOnAnotherNode: a user created through one node's key service is
// usable at once through another's over the same bucket, and is locked out
// there once removed.
func TestUserOnAnotherNode(t *testing.T) {
	e := setup(t, Config{})
	other := e.otherNode()

	u := e.addUser(`{"name":"roaming"}`)
	if r := other.sdk("GET", "/3/events", u.AccessKey, "", nil); r.status != 200 {
		t.Fatalf("new user on the other node: %d %s", r.status, r.body)
	}
	e.append("dev", "HeartbeatEvent", heartbeat("dev", guid(1)))
	var d eventsDto
	if other.sdk("GET", "/3/events", u.AccessKey, "", &d); d.Count != 1 {
		t.Fatalf("events on the other node: %+v", d)
	}
	adm := map[string]string{"Authorization": "Bearer " + e.admin}
	if r := e.do("DELETE", "/v1/jetstream/users/"+u.ID, adm, "", nil); r.status != 204 {
		t.Fatalf("remove: %d", r.status)
	}
	deadline := time.Now().Add(5 * time.Second)
	for other.sdk("GET", "/3/events", u.AccessKey, "", nil).status != 401 {
		if time.Now().After(deadline) {
			t.Fatal("the other node still serves a removed user")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
