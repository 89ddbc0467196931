package native

import (
	"encoding/json"
	"net/url"
	"testing"
	"unicode/utf8"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/topic"
)

// FuzzParsePublish: any body either fails with errBadRequest or topic
// errors, or yields drafts that are valid events with compact JSON data.
func FuzzParsePublish(f *testing.F) {
	for _, s := range []string{
		`{"topic":"app.door","type":"opened","data":{"by":"x"}}`,
		`[{"topic":"a.b"},{"topic":"c","id":"x","data":[1, 2]}]`,
		`{"topic":"a..b"}`, `[]`, `{}`, `{"topic":"a","data":}`, `{"topic":"a"} {}`, `null`, `"x"`,
		`{"topic":"a","typ":"x"}`, `[{"topic":"a","type":"` + "\n" + `"}]`,
		"{\"topic\":\"a\",\"data\":\"\xff\xfe\"}", "{\"topic\":\"a\",\"data\":{\"k\":\"\xc3\"}}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		drafts, err := parsePublish(body)
		if err != nil {
			return
		}
		if len(drafts) == 0 || len(drafts) > MaxPublish {
			t.Fatalf("%d drafts", len(drafts))
		}
		for _, d := range drafts {
			if topic.Validate(d.Topic) != nil || d.Type == "" || !json.Valid(d.Data) || !utf8.Valid(d.Data) {
				t.Fatalf("invalid draft accepted: %+v", d)
			}
			// What the wire encoder makes of it is valid JSON.
			e := eventlog.Event{Seq: 1, ID: d.ID, Topic: d.Topic, Type: d.Type, Data: d.Data}
			if !json.Valid(EncodeEvent(&e)) {
				t.Fatalf("encoded event is not JSON: %q", EncodeEvent(&e))
			}
		}
	})
}

// FuzzReadParams: query strings never panic, and accepted values are in range.
func FuzzReadParams(f *testing.F) {
	for _, s := range []string{"topics=app.>&after=3&limit=10&wait=30s", "after=-1", "limit=1001", "wait=1h",
		"topics=a..b", "wait=5", "topics=&after=", "x=1", "after=1&after=2", "%zz", "after=earliest"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		p, err := parseReadParams(q)
		if err != nil {
			return
		}
		if p.limit < 1 || p.limit > MaxLimit || p.wait < 0 || p.wait > MaxWait || (p.earliest && p.hasAfter) {
			t.Fatalf("out of range: %+v", p)
		}
		for _, pat := range p.filter {
			if topic.ValidatePattern(pat) != nil {
				t.Fatalf("invalid pattern %q accepted", pat)
			}
		}
	})
}

func TestAppendStringIsJSON(t *testing.T) {
	for _, s := range []string{"plain", `q"uote`, `back\slash`, "new\nline", "\x00\x1f", "<>&", "ünï", "\u2028", string([]byte{0xff, 'a'})} {
		b := appendString(nil, s)
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("appendString(%q) = %s: %v", s, b, err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("round trip %q -> %q", s, back)
		}
	}
}
