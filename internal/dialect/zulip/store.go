package zulip

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
)

// The dialect's own state, in the "herald-zulip" KV bucket:
//
//	user.<b64(email)>            userRecord: the email → key index
//	stream.<realm>.<b64(name)>   streamRecord
//	counter.<name>               the last id handed out (user_id, stream_id, message_id)
//
// Emails and stream names are base64url-encoded (lowercased first: Zulip
// compares them case-insensitively) because KV keys allow only
// letters, digits and "-_=".

// userRecord is a Zulip user: who they are and which herald key is theirs.
type userRecord struct {
	UserID   int64     `json:"user_id"`
	Email    string    `json:"email"`
	FullName string    `json:"full_name"`
	Realm    string    `json:"realm"`
	KeyID    string    `json:"key_id"`
	IsBot    bool      `json:"is_bot"`
	Created  time.Time `json:"created"`
}

// streamRecord is a Zulip stream (channel). herald's streams are public
// and every user of the realm is subscribed to every stream.
type streamRecord struct {
	StreamID    int64     `json:"stream_id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Realm       string    `json:"realm"`
	Created     time.Time `json:"created"`
	// FirstMessageID and FirstMessageSeq are the stream's oldest message
	// and its log position; with no message, FirstMessageSeq is how far
	// the log was found to hold none (see firstmsg.go).
	FirstMessageID  int64  `json:"first_message_id,omitempty"`
	FirstMessageSeq uint64 `json:"first_message_seq,omitempty"`
}

var errExists = errors.New("exists")

func nameKey(s string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strings.ToLower(s)))
}

func userKey(email string) string { return "user." + nameKey(email) }

func streamKey(realm, name string) string { return "stream." + realm + "." + nameKey(name) }

// nextID increments the counter name with compare-and-set and returns the
// new value; ids are never reused, whichever node hands them out.
func (a *API) nextID(ctx context.Context, name string) (int64, error) {
	key := "counter." + name
	for range 50 {
		e, err := a.kv.Get(ctx, key)
		if errors.Is(err, eventlog.ErrKeyNotFound) {
			if _, err = a.kv.Create(ctx, key, []byte("1")); err == nil {
				return 1, nil
			}
			if errors.Is(err, eventlog.ErrConflict) {
				continue
			}
		}
		if err != nil {
			return 0, fmt.Errorf("zulip: counter %s: %w", name, err)
		}
		n, err := strconv.ParseInt(string(e.Value), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("zulip: counter %s: stored value %q", name, e.Value)
		}
		n++
		if _, err = a.kv.Update(ctx, key, []byte(strconv.FormatInt(n, 10)), e.Revision); err == nil {
			return n, nil
		}
		if !errors.Is(err, eventlog.ErrConflict) {
			return 0, fmt.Errorf("zulip: counter %s: %w", name, err)
		}
	}
	return 0, fmt.Errorf("zulip: counter %s: too much contention", name)
}

// lastID returns a counter's value, or 0 if nothing was handed out.
func (a *API) lastID(ctx context.Context, name string) (int64, error) {
	e, err := a.kv.Get(ctx, "counter."+name)
	if errors.Is(err, eventlog.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("zulip: counter %s: %w", name, err)
	}
	n, _ := strconv.ParseInt(string(e.Value), 10, 64)
	return n, nil
}

// createUser stores the index entry; errExists if the email is taken.
func (a *API) createUser(ctx context.Context, u userRecord) error {
	b, err := json.Marshal(u)
	if err != nil {
		return err
	}
	if _, err := a.kv.Create(ctx, userKey(u.Email), b); err != nil {
		if errors.Is(err, eventlog.ErrConflict) {
			return fmt.Errorf("user %s: %w", u.Email, errExists)
		}
		return fmt.Errorf("zulip: store user %s: %w", u.Email, err)
	}
	return nil
}

// getUser returns the user with this email; eventlog.ErrKeyNotFound if none.
func (a *API) getUser(ctx context.Context, email string) (userRecord, uint64, error) {
	e, err := a.kv.Get(ctx, userKey(email))
	if err != nil {
		return userRecord{}, 0, err
	}
	var u userRecord
	if err := json.Unmarshal(e.Value, &u); err != nil {
		return userRecord{}, 0, fmt.Errorf("zulip: user record %s: %w", e.Key, err)
	}
	return u, e.Revision, nil
}

// users returns the users of realm ("" for all), by user id.
func (a *API) users(ctx context.Context, realm string) ([]userRecord, error) {
	ents, err := a.kv.List(ctx, "user.")
	if err != nil {
		return nil, fmt.Errorf("zulip: list users: %w", err)
	}
	out := make([]userRecord, 0, len(ents))
	for _, e := range ents {
		var u userRecord
		if json.Unmarshal(e.Value, &u) != nil {
			a.core.Logger.Warn("zulip: skipping unreadable user record", "key", e.Key)
			continue
		}
		if realm == "" || u.Realm == realm {
			out = append(out, u)
		}
	}
	slices.SortFunc(out, func(x, y userRecord) int { return cmp.Compare(x.UserID, y.UserID) })
	return out, nil
}

// streams returns the streams of realm ("" for all), by stream id.
func (a *API) streams(ctx context.Context, realm string) ([]streamRecord, error) {
	prefix := "stream."
	if realm != "" {
		prefix += realm + "."
	}
	ents, err := a.kv.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("zulip: list streams: %w", err)
	}
	out := make([]streamRecord, 0, len(ents))
	for _, e := range ents {
		var s streamRecord
		if json.Unmarshal(e.Value, &s) == nil {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(x, y streamRecord) int { return cmp.Compare(x.StreamID, y.StreamID) })
	return out, nil
}

// findStream resolves a stream by name (case-insensitive) or id.
func (a *API) findStream(ctx context.Context, realm, name string, id int64) (streamRecord, bool, error) {
	if name != "" {
		e, err := a.kv.Get(ctx, streamKey(realm, name))
		if errors.Is(err, eventlog.ErrKeyNotFound) {
			return streamRecord{}, false, nil
		}
		if err != nil {
			return streamRecord{}, false, fmt.Errorf("zulip: stream %s: %w", name, err)
		}
		var s streamRecord
		if err := json.Unmarshal(e.Value, &s); err != nil {
			return streamRecord{}, false, fmt.Errorf("zulip: stream record %s: %w", e.Key, err)
		}
		return s, true, nil
	}
	all, err := a.streams(ctx, realm)
	if err != nil {
		return streamRecord{}, false, err
	}
	for _, s := range all {
		if s.StreamID == id {
			return s, true, nil
		}
	}
	return streamRecord{}, false, nil
}
