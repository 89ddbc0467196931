package topic

import "testing"

func TestOverlaps(t *testing.T) {
	for _, tc := range []struct {
		filter, q string
		want      bool
	}{
		{"", "app.>", true},
		{"", "*.door", true},
		{"", "zulip.>", false},
		{"app.>", "app.door.front", true},
		{"app.>", "app", false},
		{"app.door.*", "app.*.front", true},
		{"app.door.*", "app.*", false},
		{"app.door.*", "app.*.front.x", false},
		{"app.door", "app.window", false},
		{"app.*,hue.>", "hue.light.x", true},
		{"*.door", "app.>", true},
		{">", "app", true},
		{"zulip.acme.>", "zulip.>", true},
		{"zulip.acme.>", "*.acme.x", false},
		{"*.acme.x", "zulip.acme.x", false},
		{"app.x", "app.x", true},
		{"a.b.>", "a.>", true},
		{"a.b.c", "a.>", true},
		{"a.b", "a.b.>", false},
	} {
		f, err := ParseFilter(tc.filter)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Overlaps(tc.q); got != tc.want {
			t.Errorf("Filter(%q).Overlaps(%q) = %v, want %v", tc.filter, tc.q, got, tc.want)
		}
	}
}

// FuzzOverlaps checks Overlaps against Match on a concrete topic: a topic
// that matches both patterns means they overlap.
func FuzzOverlaps(f *testing.F) {
	f.Add("app.>", "*.door", "app.door")
	f.Add("zulip.>", ">", "zulip.a")
	f.Fuzz(func(t *testing.T, p, q, topic string) {
		if ValidatePattern(p) != nil || ValidatePattern(q) != nil || Validate(topic) != nil {
			return
		}
		if Match(p, topic) && Match(q, topic) && !(Filter{p}).Overlaps(q) {
			t.Fatalf("%q and %q both match %q but do not overlap", p, q, topic)
		}
		if (Filter{p}).Overlaps(q) != (Filter{q}).Overlaps(p) {
			t.Fatalf("Overlaps(%q, %q) is not symmetric", p, q)
		}
	})
}
