package topic

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		topic string
		ok    bool
	}{
		{"app", true},
		{"app.door.front", true},
		{"hue.button.3f1c-aa_b:1", true},
		{"", false},
		{".app", false},
		{"app.", false},
		{"app..door", false},
		{"app.*", false},
		{"app.>", false},
		{"app door", false},
		{"app/door", false},
		{"ünïcode", false},
		{strings.Repeat("a", MaxLen), true},
		{strings.Repeat("a", MaxLen+1), false},
	}
	for _, tc := range tests {
		err := Validate(tc.topic)
		if (err == nil) != tc.ok {
			t.Errorf("Validate(%q) = %v, want ok=%v", tc.topic, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("Validate(%q) error does not wrap ErrInvalid", tc.topic)
		}
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, topic string
		want           bool
	}{
		{"app.door", "app.door", true},
		{"app.door", "app.door.front", false},
		{"app.*", "app.door", true},
		{"app.*", "app.door.front", false},
		{"app.*", "app", false},
		{"app.>", "app.door", true},
		{"app.>", "app.door.front", true},
		{"app.>", "app", false},
		{">", "anything.at.all", true},
		{"*.door.*", "app.door.front", true},
		{"*.door.*", "app.window.front", false},
		{"app.door.front", "app.door", false},
	}
	for _, tc := range tests {
		if got := Match(tc.pattern, tc.topic); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.pattern, tc.topic, got, tc.want)
		}
	}
}

func TestParseFilter(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"", ">", false},
		{"app.>", "app.>", false},
		{"app.>, hue.*", "app.>,hue.*", false},
		{"app.>,app.>", "app.>", false},
		{"app.>,>", ">", false},
		// ">" never matches the private namespace, so naming it beside ">"
		// is not redundant: "everything, Zulip's too".
		{">,zulip.>", ">,zulip.>", false},
		{"zulip.acme.>,app.>,>", ">,zulip.acme.>", false},
		{"app.>.x", "", true},
		{"app,,hue", "", true},
		{strings.Repeat("a,", MaxPatterns) + "a", "", true},
	}
	for _, tc := range tests {
		f, err := ParseFilter(tc.in)
		if (err != nil) != tc.wantErr {
			t.Fatalf("ParseFilter(%q) err = %v", tc.in, err)
		}
		if err == nil && f.String() != tc.want {
			t.Errorf("ParseFilter(%q) = %q, want %q", tc.in, f.String(), tc.want)
		}
	}
}

func TestCovers(t *testing.T) {
	tests := []struct {
		scopes []string
		q      string
		want   bool
	}{
		{[]string{"app.>"}, "app.door", true},
		{[]string{"app.>"}, "app.>", true},
		{[]string{"app.>"}, "app.*.x", true},
		{[]string{"app.>"}, "hue.>", false},
		{[]string{"app.>"}, ">", false},
		{[]string{"app.*"}, "app.door", true},
		{[]string{"app.*"}, "app.>", false},
		{[]string{"app.*"}, "app.*", true},
		{[]string{"app.door"}, "app.*", false},
		{[]string{"hue.>", "app.*"}, "app.x", true},
		{nil, ">", true},
	}
	for _, tc := range tests {
		f, err := NewFilter(tc.scopes)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Covers(tc.q); got != tc.want {
			t.Errorf("%v.Covers(%q) = %v, want %v", tc.scopes, tc.q, got, tc.want)
		}
	}
}

// The private namespace is matched and covered only by patterns that name
// it: a wildcard in the first token — or the empty filter, "everything" —
// never reaches a Zulip realm's messages.
func TestPrivateNamespace(t *testing.T) {
	for _, tc := range []struct {
		p, t string
		want bool
	}{
		{">", "zulip.acme.message", false},
		{"*.acme.message", "zulip.acme.message", false},
		{"*.>", "zulip.acme.message", false},
		{"zulip.>", "zulip.acme.message", true},
		{"zulip.*.message", "zulip.acme.message", true},
		{">", "zulipx.a", true},
		{">", "app.zulip.a", true},
		{">", "hue.button.x", true},
	} {
		if got := Match(tc.p, tc.t); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.p, tc.t, got, tc.want)
		}
		if got := (Filter{tc.p}).Match(tc.t); got != tc.want {
			t.Errorf("Filter{%q}.Match(%q) = %v, want %v", tc.p, tc.t, got, tc.want)
		}
	}
	if f, _ := NewFilter([]string{">", "zulip.>"}); !f.Match("zulip.acme.message") || !f.Match("app.x") {
		t.Errorf("%v does not match both the private namespace and the rest", f)
	}
	if Filter(nil).Match("zulip.acme.message") || !Filter(nil).Match("app.x") {
		t.Error("the empty filter matches the private namespace, or not the rest")
	}
	for _, tc := range []struct {
		scope, q string
		want     bool
	}{
		{">", "zulip.>", false},
		{"*.>", "zulip.acme.>", false},
		{"zulip.>", "zulip.acme.>", true},
		{">", "hue.>", true},
	} {
		if got := (Filter{tc.scope}).Covers(tc.q); got != tc.want {
			t.Errorf("Filter{%q}.Covers(%q) = %v, want %v", tc.scope, tc.q, got, tc.want)
		}
	}
	if Filter(nil).Covers("zulip.>") {
		t.Error("the empty filter covers the private namespace")
	}
}
