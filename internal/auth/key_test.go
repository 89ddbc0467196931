package auth

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/herald-io/herald/internal/topic"
)

func TestCanPublish(t *testing.T) {
	scoped := &Key{Publish: []string{"app.door.*", "hue.>", "plex.timeline"}}
	tests := []struct {
		name  string
		key   *Key
		topic string
		want  bool
	}{
		{"single wildcard", scoped, "app.door.front", true},
		{"single wildcard is one token", scoped, "app.door.front.left", false},
		{"single wildcard needs a token", scoped, "app.door", false},
		{"other subtree", scoped, "app.window.front", false},
		{"tail wildcard", scoped, "hue.button.1", true},
		{"tail wildcard needs a token", scoped, "hue", false},
		{"literal", scoped, "plex.timeline", true},
		{"literal prefix only", scoped, "plex.timeline.x", false},
		{"wildcard topic never allowed", scoped, "app.door.*", false},
		{"tail wildcard topic never allowed", scoped, "hue.>", false},
		{"invalid topic", scoped, "hue..x", false},
		{"empty publish allows nothing", &Key{Subscribe: []string{">"}}, "app.x", false},
		{"everything", &Key{Publish: []string{">"}}, "hue.button.x", true},
		{"'>' does not reach the private namespace", &Key{Publish: []string{">"}}, "zulip.realm.message", false},
		{"naming it does", &Key{Publish: []string{"zulip.>"}}, "zulip.realm.message", true},
		{"admin", &Key{Admin: true}, "anything.at.all", true},
		{"admin still needs a valid topic", &Key{Admin: true}, "", false},
		{"nil key", nil, "app.x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.key.CanPublish(tt.topic); got != tt.want {
				t.Fatalf("CanPublish(%q) = %v, want %v", tt.topic, got, tt.want)
			}
		})
	}
}

func TestCanSubscribe(t *testing.T) {
	scoped := &Key{Subscribe: []string{"app.>", "hue.*.1", "jetstream.*.heartbeatevent"}}
	all := &Key{Subscribe: []string{">"}}
	tests := []struct {
		name   string
		key    *Key
		filter topic.Filter
		want   bool
	}{
		{"inside tail scope", scoped, topic.Filter{"app.door.front"}, true},
		{"narrower wildcard", scoped, topic.Filter{"app.*"}, true},
		{"same tail wildcard", scoped, topic.Filter{"app.>"}, true},
		{"every pattern covered", scoped, topic.Filter{"app.x", "hue.light.1"}, true},
		{"one pattern not covered", scoped, topic.Filter{"app.x", "hue.light.2"}, false},
		{"wider than scope", scoped, topic.Filter{"hue.*.*"}, false},
		{"tail wildcard wider than '*'", scoped, topic.Filter{"hue.>"}, false},
		{"'*' scope covers literal", scoped, topic.Filter{"jetstream.dev1.heartbeatevent"}, true},
		{"'*' scope covers '*'", scoped, topic.Filter{"jetstream.*.heartbeatevent"}, true},
		{"parent of tail scope", scoped, topic.Filter{"app"}, false},
		{"empty filter means everything", scoped, nil, false},
		{"'>' requested", scoped, topic.Filter{">"}, false},
		{"invalid pattern", all, topic.Filter{"app..x"}, false},
		{"all scope, empty filter", all, nil, true},
		{"all scope, any pattern", all, topic.Filter{"hue.*.button"}, true},
		{"all scope does not cover the private namespace", all, topic.Filter{"zulip.*.message"}, false},
		{"a scope naming it does", &Key{Subscribe: []string{"zulip.>"}}, topic.Filter{"zulip.*.message"}, true},
		{"empty subscribe allows nothing", &Key{Publish: []string{">"}}, topic.Filter{"app.x"}, false},
		{"empty subscribe, empty filter", &Key{}, nil, false},
		{"admin, empty filter", &Key{Admin: true}, nil, true},
		{"admin, pattern", &Key{Admin: true}, topic.Filter{"a.*"}, true},
		{"nil key", nil, topic.Filter{"app.x"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.key.CanSubscribe(tt.filter); got != tt.want {
				t.Fatalf("CanSubscribe(%v) = %v, want %v", tt.filter, got, tt.want)
			}
		})
	}
}

// A key's name is shown to people (the console, logs, admin listings), so
// characters that hide or reorder text are refused: a name must read as
// what it is.
func TestSpecNameCharacters(t *testing.T) {
	refused := []struct {
		name, char string // char: the code point the error must name
	}{
		{"a\nb", "U+000A"},
		{"a\x7fb", "U+007F"},
		{"a\u0085b", "U+0085"}, // NEL, a C1 control
		{"pay\u202Egpj.exe", "U+202E"},
		{"a\u202Ab", "U+202A"},
		{"a\u202Bb", "U+202B"},
		{"a\u202Cb", "U+202C"},
		{"a\u202Db", "U+202D"},
		{"a\u2066b", "U+2066"},
		{"a\u2067b", "U+2067"},
		{"a\u2068b", "U+2068"},
		{"a\u2069b", "U+2069"},
		{"a\u200Eb", "U+200E"},
		{"a\u200Fb", "U+200F"},
		{"a\u061Cb", "U+061C"},
		{"ad\u200Bmin", "U+200B"},
		{"a\u200Cb", "U+200C"},
		{"a\u200Db", "U+200D"},
		{"a\u2060b", "U+2060"},
		{"\uFEFFadmin", "U+FEFF"},
		{"a\u00ADb", "U+00AD"},      // soft hyphen
		{"a\U000E0041b", "U+E0041"}, // tag character
		{"a\u2028b", "U+2028"},      // line separator
		{"a\u2029b", "U+2029"},      // paragraph separator
	}
	for _, tt := range refused {
		t.Run(tt.char, func(t *testing.T) {
			k, err := Spec{Name: tt.name}.validate()
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.char) {
				t.Fatalf("validate(%q) = %v, %v; want ErrInvalid naming %s", tt.name, k, err, tt.char)
			}
		})
	}
	for _, name := range []string{"a\xffb", "\xed\xa0\x80"} { // not UTF-8; a UTF-16 surrogate
		if _, err := (Spec{Name: name}).validate(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "UTF-8") {
			t.Errorf("validate(%q): %v, want ErrInvalid about UTF-8", name, err)
		}
	}
	// The table must not pass by refusing everything that is not ASCII.
	for _, name := range []string{"Zoë's key", "日本語のキー", "ключ", "مفتاح", "deploy 🎉", "a\u00A0b", "  padded  "} {
		if _, err := (Spec{Name: name}).validate(); err != nil {
			t.Errorf("validate(%q): %v", name, err)
		}
	}
}

// validate refuses with ErrInvalid or returns a key whose name is
// trimmed, bounded, valid UTF-8 and free of the characters that hide or
// reorder text, and that survives being stored.
func FuzzSpecValidate(f *testing.F) {
	f.Add("deploy", "app.>", "app.*", "", "email", "a@b.c", 0.0)
	f.Add("pay\u202Egpj.exe", "hue.>", ">", "zulip", "k", "v", 2.5)
	f.Add("ad\u200Bmin", "a..b", "a.>.b", "Zulip", "", "v", -1.0)
	f.Add(" \uFEFFx\u2066 ", "", "*", "hue", "k", "\xff", 1e300)
	f.Add("a\xffb", ">", "", "native_1", "k", "", 0.0)
	f.Fuzz(func(t *testing.T, name, pub, sub, dialect, metaKey, metaValue string, rate float64) {
		spec := Spec{Name: name, Publish: []string{pub}, Subscribe: []string{sub}, Dialect: dialect,
			Meta: map[string]string{metaKey: metaValue}, Rate: rate}
		k, err := spec.validate()
		if err != nil {
			if !errors.Is(err, ErrInvalid) || k != nil {
				t.Fatalf("validate: %v, %v; want nil and ErrInvalid", k, err)
			}
			return
		}
		n := k.Name
		if n == "" || n != strings.TrimSpace(n) || !utf8.ValidString(n) || utf8.RuneCountInString(n) > MaxNameLen {
			t.Fatalf("accepted name %q", n)
		}
		for _, r := range n {
			if r < 0x20 || 0x7f <= r && r <= 0x9f || 0x200b <= r && r <= 0x200f || 0x202a <= r && r <= 0x202e ||
				0x2060 <= r && r <= 0x2069 || r == 0x061c || r == 0xfeff || r == 0x2028 || r == 0x2029 {
				t.Fatalf("accepted name %q holds %U", n, r)
			}
		}
		k.ID, k.Hash = "0123456789abcdef", strings.Repeat("ab", 32)
		b, err := encodeKey(k)
		if err != nil {
			t.Fatal(err)
		}
		back, _, err := decodeKey(b)
		if err != nil || back.Name != n {
			t.Fatalf("stored name %q came back %v, %v", n, back, err)
		}
	})
}
