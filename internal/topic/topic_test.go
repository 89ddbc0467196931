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
