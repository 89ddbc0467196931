package zulipconn_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/connector"
	"github.com/herald-io/herald/internal/connector/zulipconn"
	"github.com/herald-io/herald/internal/topic"
)

func TestParseEvents(t *testing.T) {
	evs, err := zulipconn.ParseEvents([]byte(`{"result":"success","msg":"","events":[` +
		`{"type":"message","id":4,"message":{"id":9}},{"type":"heartbeat","id":5},{"id":6,"type":7}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 || evs[0].ID != 4 || evs[0].Type != "message" || string(evs[0].Raw) != `{"type":"message","id":4,"message":{"id":9}}` ||
		evs[1].Type != "heartbeat" || evs[2].ID != 6 || evs[2].Type != "" {
		t.Fatalf("%+v", evs)
	}
	for _, bad := range []string{``, `{}`, `[]`, `{"result":"error","events":[]}`, `{"result":"success"}`,
		`{"result":"success","events":[{"type":"message"}]}`, `{"result":"success","events":[1]}`,
		`{"result":"success","events":[{"id":"4"}]}`} {
		if _, err := zulipconn.ParseEvents([]byte(bad)); !errors.Is(err, zulipconn.ErrBadAnswer) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestDraftOf(t *testing.T) {
	ev := zulipconn.Event{ID: 12, Type: "reaction", Raw: []byte(`{"type":"reaction","id":12,"emoji_name":"+1"}`)}
	d, err := zulipconn.DraftOf("chat", "chat", "q1", ev)
	if err != nil {
		t.Fatal(err)
	}
	if d.Topic != "zulip.chat.reaction" || d.Type != "reaction" || string(d.Data) != string(ev.Raw) || !strings.HasPrefix(d.ID, "zulip-") {
		t.Fatalf("%+v", d)
	}
	again, _ := zulipconn.DraftOf("chat", "chat", "q1", ev)
	otherQueue, _ := zulipconn.DraftOf("chat", "chat", "q2", ev)
	ev.ID = 13
	next, _ := zulipconn.DraftOf("chat", "chat", "q1", ev)
	if again.ID != d.ID || otherQueue.ID == d.ID || next.ID == d.ID {
		t.Fatalf("ids %s %s %s %s", d.ID, again.ID, otherQueue.ID, next.ID)
	}
	bad, err := zulipconn.DraftOf("chat", "chat", "q1", zulipconn.Event{ID: 1, Type: "x", Raw: []byte("{\"a\":\"\xff\"}")})
	if err != nil || string(bad.Data) != "{\"a\":\"\uFFFD\"}" {
		t.Fatalf("invalid UTF-8: %q %v", bad.Data, err)
	}
	for _, typ := range []string{"", "a.b", "*", ">", "a b"} {
		if _, err := zulipconn.DraftOf("chat", "chat", "q", zulipconn.Event{ID: 1, Type: typ, Raw: []byte(`{}`)}); !errors.Is(err, zulipconn.ErrNotEvent) {
			t.Errorf("type %q: %v", typ, err)
		}
	}
}

func TestGapDraft(t *testing.T) {
	since, until := time.Unix(100, 500e6), time.Unix(160, 0)
	d := zulipconn.GapDraft("chat", "chat", "q1", since, until)
	if d.Topic != "zulip.chat.gap" || d.Type != "gap" || !strings.Contains(string(d.Data), `"since":100.5`) ||
		!strings.Contains(string(d.Data), `"until":160`) || !strings.Contains(string(d.Data), `"lost_queue_id":"q1"`) {
		t.Fatalf("%+v %s", d, d.Data)
	}
	// A retry, later, of the same loss is the same event.
	if again := zulipconn.GapDraft("chat", "chat", "q1", since, until.Add(time.Second)); again.ID != d.ID {
		t.Fatalf("ids %s %s", d.ID, again.ID)
	}
}

func TestCheck(t *testing.T) {
	k := zulipconn.New(nil)
	ok := connector.Spec{Name: "chat", Kind: "zulip", URL: "https://chat.example.com", Email: "bot@example.com", Key: "k"}
	if err := k.Check(ok); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []connector.Spec{
		{Email: "", Key: "k"}, {Email: "Bot <bot@example.com>", Key: "k"}, {Email: "bot@example.com", Key: " "},
	} {
		if err := k.Check(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func FuzzParseEvents(f *testing.F) {
	f.Add([]byte(`{"result":"success","events":[{"type":"message","id":4,"message":{}},{"type":"heartbeat","id":5}]}`))
	f.Add([]byte(`{"result":"success","events":[{"type":"a.b","id":-1}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, err := zulipconn.ParseEvents(b)
		if err != nil {
			return
		}
		for _, ev := range evs {
			d, err := zulipconn.DraftOf("chat", "chat", "q", ev)
			if err != nil {
				continue
			}
			if topic.Validate(d.Topic) != nil || !strings.HasPrefix(d.Topic, "zulip.chat.") || d.ID == "" {
				t.Fatalf("%q: %+v", b, d)
			}
		}
	})
}
