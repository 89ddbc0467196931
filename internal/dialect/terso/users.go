package terso

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/cursor"
	"github.com/herald-io/herald/internal/eventlog"
)

// A Jetstream user is a herald key of the "jetstream" dialect. The access
// key (a GUID) that Jetstream clients send in the AccessKey header is an
// alias of that key in auth, in the namespace "jetstream": stored as a
// SHA-256 only, cached on every node with the keys, and looked up in the
// engine only under the limiter that bounds unknown credentials.
//
// Released versions kept their own index instead, in the herald-jetstream
// bucket: "user.<first 16 hex digits of the digest>" → {key_id, sha256, …}.
// New imports each of those records as an alias (idempotent, so nodes may
// start at once); the records stay, for an older node still running beside
// this one, and go with their user.

const (
	legacyPrefix = "user."
	legacyIndex  = 16 // hex digits of the digest that name a legacy record
)

var errUserNotFound = errors.New("jetstream user not found")

// legacyUser is the part of a released version's user record that is
// imported.
type legacyUser struct {
	KeyID string `json:"key_id"`
	Hash  string `json:"sha256"` // of the lower-case access key
}

// User is a Jetstream user as the admin endpoints show it.
type User struct {
	ID      string    `json:"id"` // the herald key id; also names the subscription
	Name    string    `json:"name"`
	Devices []string  `json:"devices"` // empty: every device
	Created time.Time `json:"created"`
	// AccessKey is shown once, when the user is created.
	AccessKey string `json:"access_key,omitempty"`
	// Subscribed reports whether the user has a live subscription.
	Subscribed bool `json:"subscribed"`
	// Acked is the subscription's position in the log.
	Acked uint64 `json:"acked,omitempty"`
	// LastActive is the subscription's last Get Events request.
	LastActive *time.Time `json:"last_active,omitempty"`
	// Pending is how many events the subscription holds that the user has
	// not deleted yet, counted up to maxPendingCount.
	Pending int `json:"pending"`
}

// maxPendingCount bounds the count of a user's pending events: it is for
// display, and a user far behind is far behind.
const maxPendingCount = 10000

// UserSpec creates a user.
type UserSpec struct {
	Name    string   `json:"name"`
	Devices []string `json:"devices"` // restrict to these devices; empty: all
	Rate    float64  `json:"rate"`    // requests per second; 0: the server's default
}

// parseAccessKey returns the canonical (lower-case) form of a 36-character
// GUID, or false.
func parseAccessKey(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) != 36 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return "", false
			}
		}
	}
	return strings.ToLower(s), true
}

// createUser makes the herald key, then its access key; if the access key
// cannot be stored the key is revoked, so no half-made user remains.
func (a *API) createUser(ctx context.Context, spec UserSpec) (User, error) {
	subscribe := []string{"jetstream.>"}
	if len(spec.Devices) > 0 {
		subscribe = subscribe[:0]
		for _, d := range spec.Devices {
			if err := validDevice(d); err != nil {
				return User{}, invalid("devices", err.Error())
			}
			subscribe = append(subscribe, "jetstream."+d+".>")
		}
	}
	key, _, err := a.core.Auth.Create(ctx, auth.Spec{Name: spec.Name, Subscribe: subscribe, Dialect: Dialect, Rate: spec.Rate})
	if err != nil {
		return User{}, fmt.Errorf("jetstream: create user: %w", err)
	}
	accessKey := uuid.NewString() // version 4: 122 random bits
	if err := a.core.Auth.CreateAlias(ctx, Dialect, accessKey, key.ID); err != nil {
		if rerr := a.core.Auth.Revoke(ctx, key.ID); rerr != nil {
			a.core.Logger.Error("jetstream: revoke key of unsaved user", "id", key.ID, "err", rerr)
		}
		return User{}, fmt.Errorf("jetstream: create user: %w", err)
	}
	a.core.Logger.Info("jetstream user created", "id", key.ID, "name", key.Name)
	u := userOf(&key)
	u.AccessKey = accessKey
	return u, nil
}

// userOf shows key as a user: its devices are its subscribe scopes.
func userOf(k *auth.Key) User {
	devices := []string{}
	for _, p := range k.Subscribe {
		if d, ok := strings.CutPrefix(p, "jetstream."); ok && d != ">" {
			devices = append(devices, strings.TrimSuffix(d, ".>"))
		}
	}
	return User{ID: k.ID, Name: k.Name, Devices: devices, Created: k.Created}
}

// authenticate returns the herald key of an access key; ErrUnauthorized
// for a malformed, unknown or removed one.
func (a *API) authenticate(ctx context.Context, header string) (*auth.Key, error) {
	ak, ok := parseAccessKey(header)
	if !ok {
		return nil, auth.ErrUnauthorized
	}
	key, err := a.core.Auth.AuthenticateAlias(ctx, Dialect, ak)
	if err != nil {
		return nil, err
	}
	if key.Dialect != Dialect {
		return nil, auth.ErrUnauthorized
	}
	return key, nil
}

// importLegacyUsers makes the access keys of released versions' user
// records aliases of their keys.
func (a *API) importLegacyUsers(ctx context.Context) error {
	ents, err := a.legacy.List(ctx, legacyPrefix)
	if err != nil {
		return fmt.Errorf("jetstream: list stored users: %w", err)
	}
	for _, e := range ents {
		var rec legacyUser
		var sum [sha256.Size]byte
		if err := json.Unmarshal(e.Value, &rec); err != nil || len(rec.Hash) != 2*len(sum) {
			a.core.Logger.Warn("jetstream: damaged user record", "kv", e.Key, "err", err)
			continue
		}
		if _, err := hex.Decode(sum[:], []byte(rec.Hash)); err != nil {
			a.core.Logger.Warn("jetstream: damaged user record", "kv", e.Key, "err", err)
			continue
		}
		err := a.core.Auth.ImportAlias(ctx, Dialect, sum, rec.KeyID)
		if errors.Is(err, auth.ErrAliasTaken) || errors.Is(err, auth.ErrInvalid) {
			a.core.Logger.Warn("jetstream: stored user not imported", "kv", e.Key, "err", err)
			continue
		}
		if err != nil {
			return fmt.Errorf("jetstream: import stored user %s: %w", rec.KeyID, err)
		}
	}
	return nil
}

// listUsers returns every user, oldest first.
func (a *API) listUsers(ctx context.Context) ([]User, error) {
	keys, err := a.core.Auth.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("jetstream: list users: %w", err)
	}
	out := []User{}
	for i := range keys {
		if keys[i].Dialect == Dialect {
			out = append(out, userOf(&keys[i]))
		}
	}
	return out, nil
}

// removeUser revokes the user's key, then drops its access key, its
// subscription and any record a released version made of it.
func (a *API) removeUser(ctx context.Context, id string) error {
	key, err := a.core.Auth.Get(ctx, id)
	if err == nil && key.Dialect != Dialect {
		err = errUserNotFound
	}
	if err != nil {
		return fmt.Errorf("jetstream: user %q: %w", id, err)
	}
	if err := a.core.Auth.Revoke(ctx, id); err != nil && !errors.Is(err, auth.ErrNotFound) {
		return fmt.Errorf("jetstream: remove user %s: %w", id, err)
	}
	if _, err := a.core.Auth.RemoveAliases(ctx, Dialect, id); err != nil {
		return fmt.Errorf("jetstream: remove user %s: %w", id, err)
	}
	if h := key.Meta["access_key_sha256"]; len(h) > legacyIndex {
		if err := a.legacy.Delete(ctx, legacyPrefix+h[:legacyIndex], 0); err != nil && !errors.Is(err, eventlog.ErrKeyNotFound) {
			return fmt.Errorf("jetstream: remove user %s: %w", id, err)
		}
	}
	if err := a.core.Cursors.Delete(ctx, subscriptionID(id)); err != nil && !errors.Is(err, cursor.ErrNotFound) {
		return fmt.Errorf("jetstream: remove user %s: %w", id, err)
	}
	a.core.Logger.Info("jetstream user removed", "id", id)
	return nil
}
