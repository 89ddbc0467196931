package terso

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/cursor"
	"github.com/herald-io/herald/internal/eventlog"
)

// A Jetstream user is a herald key of the "jetstream" dialect plus the
// access key (a GUID) that Jetstream clients send in the AccessKey header.
// The GUID is not a herald token, so the dialect keeps its own index from
// the GUID to the key in its KV bucket. Like herald's keys, only a SHA-256
// of the GUID is stored: the first 16 hex digits name the entry, and the
// whole digest is compared in constant time, so neither a copy of the
// engine's data nor response timing yields a working access key.

const (
	usersPrefix = "user."
	indexLen    = 16 // hex digits of the digest that name the KV entry
)

var errUserNotFound = errors.New("jetstream user not found")

// userRecord is a user's entry in the dialect's KV bucket.
type userRecord struct {
	KeyID   string    `json:"key_id"`
	Name    string    `json:"name"`
	Hash    string    `json:"sha256"` // of the lower-case access key
	Devices []string  `json:"devices,omitempty"`
	Created time.Time `json:"created"`
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
}

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

func digest(accessKey string) [sha256.Size]byte {
	return sha256.Sum256([]byte(accessKey))
}

// createUser makes the herald key, then the index entry; if the index
// cannot be written the key is revoked, so no half-made user remains.
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
	accessKey := uuid.NewString() // version 4: 122 random bits
	sum := digest(accessKey)
	hash := hex.EncodeToString(sum[:])
	key, _, err := a.core.Auth.Create(ctx, auth.Spec{
		Name:      spec.Name,
		Subscribe: subscribe,
		Dialect:   Dialect,
		// The access key itself is never stored, only its digest.
		Meta: map[string]string{"access_key_sha256": hash},
		Rate: spec.Rate,
	})
	if err != nil {
		return User{}, fmt.Errorf("jetstream: create user: %w", err)
	}
	rec := userRecord{KeyID: key.ID, Name: key.Name, Hash: hash, Devices: spec.Devices, Created: key.Created}
	b, err := json.Marshal(rec)
	if err == nil {
		_, err = a.users.Create(ctx, usersPrefix+hash[:indexLen], b)
	}
	if err != nil {
		if rerr := a.core.Auth.Revoke(ctx, key.ID); rerr != nil {
			a.core.Logger.Error("jetstream: revoke key of unsaved user", "id", key.ID, "err", rerr)
		}
		return User{}, fmt.Errorf("jetstream: create user: %w", err)
	}
	a.core.Logger.Info("jetstream user created", "id", key.ID, "name", key.Name)
	u := rec.user()
	u.AccessKey = accessKey
	return u, nil
}

func (r *userRecord) user() User {
	d := r.Devices
	if d == nil {
		d = []string{}
	}
	return User{ID: r.KeyID, Name: r.Name, Devices: d, Created: r.Created}
}

// authenticate returns the herald key of an access key; errUnauthorized
// for a malformed, unknown or removed one.
func (a *API) authenticate(ctx context.Context, header string) (*auth.Key, error) {
	ak, ok := parseAccessKey(header)
	if !ok {
		return nil, auth.ErrUnauthorized
	}
	sum := digest(ak)
	hash := hex.EncodeToString(sum[:])
	e, err := a.users.Get(ctx, usersPrefix+hash[:indexLen])
	if errors.Is(err, eventlog.ErrKeyNotFound) {
		return nil, auth.ErrUnauthorized
	}
	if err != nil {
		return nil, fmt.Errorf("jetstream: look up user: %w", err)
	}
	var rec userRecord
	if err := json.Unmarshal(e.Value, &rec); err != nil {
		a.core.Logger.Warn("jetstream: damaged user record", "kv", e.Key, "err", err)
		return nil, auth.ErrUnauthorized
	}
	if subtle.ConstantTimeCompare([]byte(rec.Hash), []byte(hash)) != 1 {
		return nil, auth.ErrUnauthorized
	}
	// The herald key is the source of truth: revoking it (herald keys
	// revoke) locks the user out even if the index entry remains.
	key, err := a.core.Auth.Get(ctx, rec.KeyID)
	if errors.Is(err, auth.ErrNotFound) {
		return nil, auth.ErrUnauthorized
	}
	if err != nil {
		return nil, err
	}
	if key.Dialect != Dialect {
		return nil, auth.ErrUnauthorized
	}
	return &key, nil
}

// listUsers returns every user, oldest first.
func (a *API) listUsers(ctx context.Context) ([]userRecord, error) {
	ents, err := a.users.List(ctx, usersPrefix)
	if err != nil {
		return nil, fmt.Errorf("jetstream: list users: %w", err)
	}
	out := make([]userRecord, 0, len(ents))
	for _, e := range ents {
		var rec userRecord
		if err := json.Unmarshal(e.Value, &rec); err != nil {
			a.core.Logger.Warn("jetstream: damaged user record", "kv", e.Key, "err", err)
			continue
		}
		out = append(out, rec)
	}
	slices.SortFunc(out, func(x, y userRecord) int {
		if c := x.Created.Compare(y.Created); c != 0 {
			return c
		}
		return strings.Compare(x.KeyID, y.KeyID)
	})
	return out, nil
}

// removeUser revokes the user's key, then drops its subscription and its
// index entry.
func (a *API) removeUser(ctx context.Context, id string) error {
	users, err := a.listUsers(ctx)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(users, func(u userRecord) bool { return u.KeyID == id })
	if i < 0 {
		return fmt.Errorf("jetstream: user %q: %w", id, errUserNotFound)
	}
	rec := users[i]
	if err := a.core.Auth.Revoke(ctx, id); err != nil && !errors.Is(err, auth.ErrNotFound) {
		return fmt.Errorf("jetstream: remove user %s: %w", id, err)
	}
	if err := a.core.Cursors.Delete(ctx, subscriptionID(id)); err != nil && !errors.Is(err, cursor.ErrNotFound) {
		return fmt.Errorf("jetstream: remove user %s: %w", id, err)
	}
	if err := a.users.Delete(ctx, usersPrefix+rec.Hash[:indexLen], 0); err != nil && !errors.Is(err, eventlog.ErrKeyNotFound) {
		return fmt.Errorf("jetstream: remove user %s: %w", id, err)
	}
	a.core.Logger.Info("jetstream user removed", "id", id)
	return nil
}
