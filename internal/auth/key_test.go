package auth

import (
	"testing"

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
		{"everything", &Key{Publish: []string{">"}}, "zulip.realm.message", true},
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
		{"all scope, any pattern", all, topic.Filter{"zulip.*.message"}, true},
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
