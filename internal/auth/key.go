package auth

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/herald-io/herald/internal/topic"
)

// Limits on a key specification: everything a client can store is bounded.
const (
	MaxNameLen    = 100 // characters
	maxDialectLen = 32
	maxMeta       = 32
	maxMetaKey    = 64
	maxMetaValue  = 1024
)

// Key is an API key as herald knows it. Keys are immutable once created;
// revoking one deletes it.
type Key struct {
	// ID is 16 lowercase hex characters, random; it is the public half of a token.
	ID   string `json:"id"`
	Name string `json:"name"`
	// Hash is the hex SHA-256 of the token's secret. It is never encoded
	// with the key (json:"-") so that a handler that returns a Key cannot leak
	// it; only the stored record carries it.
	Hash string `json:"-"`
	// Publish and Subscribe are topic patterns. An empty list allows nothing.
	Publish   []string `json:"publish"`
	Subscribe []string `json:"subscribe"`
	// Admin keys may do everything, including managing keys.
	Admin bool `json:"admin"`
	// Dialect is the API a key was made for ("" = native; "zulip", "hue", …).
	Dialect string `json:"dialect,omitempty"`
	// Meta is free-form data for the dialect, e.g. a Zulip user's email.
	Meta    map[string]string `json:"meta,omitempty"`
	Created time.Time         `json:"created"`
	// Rate is the key's request rate limit per second; 0 means the service default.
	Rate float64 `json:"rate,omitempty"`
}

// clone returns a copy of k sharing no memory with it, so a caller may
// modify what it was given without touching the cached key.
func (k *Key) clone() Key {
	c := *k
	c.Publish = slices.Clone(k.Publish)
	c.Subscribe = slices.Clone(k.Subscribe)
	c.Meta = maps.Clone(k.Meta)
	return c
}

// record is a Key as stored in the KV bucket: the key plus its hash.
type record struct {
	Key
	Hash string `json:"sha256"` // shadows Key.Hash, which is not encoded
}

func encodeKey(k *Key) ([]byte, error) {
	return json.Marshal(record{Key: *k, Hash: k.Hash})
}

// decodeKey parses a stored record and checks the fields authentication
// relies on, so a damaged record can never authenticate anyone.
func decodeKey(data []byte) (*Key, [32]byte, error) {
	var r record
	var sum [32]byte
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, sum, fmt.Errorf("decode key: %w", err)
	}
	if !validID(r.ID) {
		return nil, sum, fmt.Errorf("decode key: bad id %q", r.ID)
	}
	if n, err := hex.Decode(sum[:], []byte(r.Hash)); err != nil || n != len(sum) || len(r.Hash) != 2*len(sum) {
		return nil, sum, fmt.Errorf("decode key %s: bad hash", r.ID)
	}
	k := r.Key
	k.Hash = r.Hash
	return &k, sum, nil
}

// Spec describes a key to create.
type Spec struct {
	Name      string
	Publish   []string
	Subscribe []string
	Admin     bool
	Dialect   string
	Meta      map[string]string
	Rate      float64
}

// Validate checks s as Create does and returns the key it describes,
// without id, hash and creation time, for a credential that stands for a
// key without being stored (an app-signed token). The returned key shares
// no memory with s.
func (s Spec) Validate() (*Key, error) { return s.validate() }

// validate checks s and returns the key it describes, without id, hash
// and creation time. The returned key shares no memory with s.
func (s Spec) validate() (*Key, error) {
	name := strings.TrimSpace(s.Name)
	switch {
	case name == "":
		return nil, fmt.Errorf("%w: name is required", ErrInvalid)
	case !utf8.ValidString(name):
		return nil, fmt.Errorf("%w: name is not valid UTF-8", ErrInvalid)
	case utf8.RuneCountInString(name) > MaxNameLen:
		return nil, fmt.Errorf("%w: name is longer than %d characters", ErrInvalid, MaxNameLen)
	}
	if i, r := hiddenRune(name); i >= 0 {
		return nil, fmt.Errorf("%w: name contains a control or invisible character (%U at byte %d)", ErrInvalid, r, i)
	}
	pub, err := patterns("publish", s.Publish)
	if err != nil {
		return nil, err
	}
	sub, err := patterns("subscribe", s.Subscribe)
	if err != nil {
		return nil, err
	}
	if !validDialect(s.Dialect) {
		return nil, fmt.Errorf("%w: dialect %q must be lowercase letters, digits, '-' or '_' (at most %d)", ErrInvalid, s.Dialect, maxDialectLen)
	}
	if len(s.Meta) > maxMeta {
		return nil, fmt.Errorf("%w: more than %d meta entries", ErrInvalid, maxMeta)
	}
	var meta map[string]string
	for k, v := range s.Meta {
		if k == "" || len(k) > maxMetaKey || len(v) > maxMetaValue {
			return nil, fmt.Errorf("%w: meta %q: keys must be 1-%d bytes and values at most %d", ErrInvalid, k, maxMetaKey, maxMetaValue)
		}
		if meta == nil {
			meta = make(map[string]string, len(s.Meta))
		}
		meta[k] = v
	}
	// NaN and ±Inf cannot be stored as JSON, and a negative rate means nothing.
	if math.IsNaN(s.Rate) || math.IsInf(s.Rate, 0) || s.Rate < 0 {
		return nil, fmt.Errorf("%w: rate must be a non-negative number", ErrInvalid)
	}
	return &Key{
		Name:      name,
		Publish:   pub,
		Subscribe: sub,
		Admin:     s.Admin,
		Dialect:   s.Dialect,
		Meta:      meta,
		Rate:      s.Rate,
	}, nil
}

// hiddenRune returns the offset and value of the first rune in s that is
// a control character, an invisible format character (Cf: bidi controls,
// zero-width characters, soft hyphen, tags) or a line or paragraph
// separator; -1 if there is none. Such runes make a name read as something
// it is not: U+202E shows what follows it reversed.
func hiddenRune(s string) (int, rune) {
	for i, r := range s {
		if unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) {
			return i, r
		}
	}
	return -1, 0
}

func patterns(what string, ps []string) ([]string, error) {
	if len(ps) > topic.MaxPatterns {
		return nil, fmt.Errorf("%w: more than %d %s patterns", ErrInvalid, topic.MaxPatterns, what)
	}
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		if err := topic.ValidatePattern(p); err != nil {
			return nil, fmt.Errorf("%w: %s pattern: %w", ErrInvalid, what, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func validDialect(d string) bool {
	if len(d) > maxDialectLen {
		return false
	}
	for i := 0; i < len(d); i++ {
		c := d[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// CanPublish reports whether k may publish an event to topic t. It reports
// false for a topic that is not valid, so a wildcard can never be used to
// widen a scope.
func (k *Key) CanPublish(t string) bool {
	if k == nil || topic.Validate(t) != nil {
		return false
	}
	if k.Admin {
		return true
	}
	for _, p := range k.Publish {
		if topic.Match(p, t) {
			return true
		}
	}
	return false
}

// CanSubscribe reports whether k may read every topic that filter f
// matches. An empty f means every topic, so only a key scoped to ">" (or an
// admin key) may use it.
func (k *Key) CanSubscribe(f topic.Filter) bool {
	if k == nil {
		return false
	}
	for _, p := range f {
		if topic.ValidatePattern(p) != nil {
			return false
		}
	}
	if k.Admin {
		return true
	}
	// An empty topic.Filter covers everything, but an empty scope list
	// grants nothing: never hand the key's list to Covers when it is empty.
	if len(k.Subscribe) == 0 {
		return false
	}
	scopes := topic.Filter(k.Subscribe)
	if len(f) == 0 {
		return scopes.Covers(">")
	}
	for _, p := range f {
		if !scopes.Covers(p) {
			return false
		}
	}
	return true
}
