package zulip

import (
	"encoding/base64"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/herald-io/herald/internal/auth"
)

// A request's user is read out of its key once and shared; a key read
// again (a new record) gets a user of its own, never the one before.
func TestKeyUsers(t *testing.T) {
	c := newKeyUsers(4)
	key := func(id, email string) *auth.Key {
		return &auth.Key{ID: id, Dialect: dialectName, Meta: map[string]string{
			"user_id": "7", "email": email, "realm": "zulip", "full_name": "Bot"}}
	}
	k := key("00000000000000a1", "bot@example.com")
	u, ok := c.of(k)
	if !ok || u.Email != "bot@example.com" || u.ID != 7 || u.KeyID != k.ID || u.key != k {
		t.Fatalf("user %+v %v", u, ok)
	}
	if again, _ := c.of(k); again != u {
		t.Fatal("the same key's user was read again")
	}
	k2 := key(k.ID, "other@example.com") // the same id, read again
	if u2, ok := c.of(k2); !ok || u2.Email != "other@example.com" || u2.key != k2 {
		t.Fatalf("a key read again got %+v", u2)
	}
	if _, ok := c.of(&auth.Key{ID: "00000000000000a2", Dialect: "hue"}); ok {
		t.Fatal("a Hue key has a Zulip user")
	}
	if _, ok := c.of(nil); ok {
		t.Fatal("no key has a user")
	}
	// Past its bound it forgets the older generation, and stays right.
	keys := []*auth.Key{k2}
	for _, id := range []string{"00000000000000b1", "00000000000000b2", "00000000000000b3", "00000000000000b4"} {
		keys = append(keys, key(id, id+"@example.com"))
		c.of(keys[len(keys)-1])
	}
	if n := len(c.cur) + len(c.old); n > 4 {
		t.Fatalf("%d users kept, bound 4", n)
	}
	for _, k := range keys {
		if u, ok := c.of(k); !ok || u.key != k {
			t.Fatalf("key %s: %+v", k.ID, u)
		}
	}
}

// sameEmail is strings.EqualFold on a string and bytes.
func TestSameEmail(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"bot@example.com", "bot@example.com", true},
		{"bot@example.com", "BOT@Example.COM", true},
		{"bot@example.com", "bot@example.co", false},
		{"bot@example.com", "bat@example.com", false},
		{"bot@example.com", "bot@example.co\x00", false},
		{"@", "`", false}, // one bit apart, as 'a' and 'A' are
		{"[", "{", false},
		{"kai@example.com", "\u212aai@example.com", true}, // the Kelvin sign folds to k
		{"élise@example.com", "Élise@example.com", true},
		{"élise@example.com", "elise@example.com", false},
		{"", "", true},
	} {
		if got := sameEmail(tc.a, []byte(tc.b)); got != tc.want || got != strings.EqualFold(tc.a, tc.b) {
			t.Errorf("sameEmail(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func FuzzSameEmail(f *testing.F) {
	f.Add("bot@example.com", "BOT@example.com")
	f.Add("k", "\u212a")
	f.Fuzz(func(t *testing.T, a, b string) {
		if got, want := sameEmail(a, []byte(b)), strings.EqualFold(a, b); got != want {
			t.Fatalf("sameEmail(%q, %q) = %v, EqualFold %v", a, b, got, want)
		}
	})
}

// basicCredentials decodes as base64.StdEncoding.DecodeString does, on
// the stack or, for a long credential, the heap, and splits at the first
// colon.
func FuzzBasicCredentials(f *testing.F) {
	f.Add("Basic " + base64.StdEncoding.EncodeToString([]byte("bot@example.com:hk_0123456789abcdef_x")))
	f.Add("Basic " + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("long", 100)+"@example.com:k:k")))
	f.Add("basic  Ym90 ")
	f.Add("Basic Ym90Og==\r\n")
	f.Add("Bearer x")
	f.Add("")
	f.Fuzz(func(t *testing.T, h string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", h)
		var buf basicBuf
		email, key, err := basicCredentials(r, &buf)
		// What it did before it decoded on the stack.
		v := strings.TrimSpace(r.Header.Get("Authorization"))
		scheme, cred, _ := strings.Cut(v, " ")
		raw, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
		we, wk, colon := strings.Cut(string(raw), ":")
		switch {
		case v == "" || !strings.EqualFold(scheme, "Basic"):
			if err == nil {
				t.Fatalf("%q: accepted", h)
			}
		case derr != nil || !colon:
			if err == nil || err.code != codeUnauthorized {
				t.Fatalf("%q: %v", h, err)
			}
		case err != nil || string(email) != we || string(key) != wk:
			t.Fatalf("%q: %q %q %v, want %q %q", h, email, key, err, we, wk)
		}
	})
}

// A long email is decoded too (on the heap).
func TestBasicCredentialsLong(t *testing.T) {
	email := strings.Repeat("a", 300) + "@example.com"
	r := httptest.NewRequest("GET", "/", nil)
	r.SetBasicAuth(email, "hk_key")
	var buf basicBuf
	if e, k, err := basicCredentials(r, &buf); err != nil || string(e) != email || string(k) != "hk_key" {
		t.Fatalf("%q %q %v", e, k, err)
	}
}
