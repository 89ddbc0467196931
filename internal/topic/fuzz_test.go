package topic

import (
	"strings"
	"testing"
)

// FuzzTopic checks that validation and matching agree: a valid topic
// matches itself, ">" and its own first token followed by ">".
func FuzzTopic(f *testing.F) {
	for _, s := range []string{"app", "app.door.front", "a..b", "a.>", "*", ".", "a.b.", "hue.button.x:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if Validate(s) != nil {
			return
		}
		if ValidatePattern(s) != nil {
			t.Fatalf("valid topic %q is not a valid pattern", s)
		}
		if !Match(s, s) || !Match(">", s) {
			t.Fatalf("%q does not match itself or >", s)
		}
		first, rest, hasRest := strings.Cut(s, ".")
		if Match(first+".>", s) != hasRest {
			t.Fatalf("Match(%q.>, %q) wrong (rest %q)", first, s, rest)
		}
		if Match(s+".x", s) || Match(s, s+".x") {
			t.Fatalf("%q matches a longer topic or pattern", s)
		}
	})
}

// FuzzFilter checks that a parsed filter round-trips through String and
// that Covers agrees with Match on a concrete topic.
func FuzzFilter(f *testing.F) {
	for _, s := range []string{"", "app.>", "a.*,b.>", ">", "a,,b", "a.>.b", " a.b , c "} {
		f.Add(s, "a.b")
	}
	f.Fuzz(func(t *testing.T, s, topic string) {
		fl, err := ParseFilter(s)
		if err != nil {
			return
		}
		again, err := ParseFilter(fl.String())
		if err != nil || again.String() != fl.String() {
			t.Fatalf("round trip of %q: %q then %q, %v", s, fl, again, err)
		}
		if Validate(topic) == nil && fl.Covers(topic) != fl.Match(topic) {
			t.Fatalf("filter %q: Covers(%q)=%v but Match=%v", fl, topic, fl.Covers(topic), fl.Match(topic))
		}
	})
}
