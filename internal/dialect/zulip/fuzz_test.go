package zulip

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/herald-io/herald/internal/cursor"
	"github.com/herald-io/herald/internal/topic"
)

// FuzzParseParams: any query string and body either parse or give a Zulip
// error (never a panic), parsed parameters are bounded, and a query string
// reads as url.ParseQuery reads it (the last value of a name).
func FuzzParseParams(f *testing.F) {
	mp := "--B\r\nContent-Disposition: form-data; name=\"event_types\"\r\n\r\nnull\r\n--B--\r\n"
	for _, s := range []struct{ q, ct, body string }{
		{"queue_id=1375801870:2942&last_event_id=-1", "", ""},
		{"", "application/x-www-form-urlencoded", `event_types=%5B%22message%22%5D&narrow=%5B%5D`},
		{"", "multipart/form-data; boundary=B", mp},
		{"", "multipart/form-data", mp},
		{"a=%zz", "", ""},
		{"a=1&a=2&&b=%20x+y&c;d=1", "", ""},
		{"a=1&a=2&b=%20x+y&c", "", ""},
		{"", "text/plain", "x"},
		{"", "application/x-www-form-urlencoded; charset=utf-8", "a=1&a=2&b"},
	} {
		f.Add(s.q, s.ct, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, q, ct string, body []byte) {
		p, err := parseParams(q, ct, body)
		if want, werr := url.ParseQuery(q); werr != nil && err == nil {
			t.Fatalf("query %q: url.ParseQuery: %v; parsed", q, werr)
		} else if werr == nil && err == nil {
			for k, vs := range want {
				if i := p.find(k); len(bytes.TrimSpace(body)) == 0 && (i < 0 || p.list[i].value != vs[len(vs)-1]) {
					t.Fatalf("query %q: %q is %q, want %q", q, k, p.list[max(i, 0)].value, vs[len(vs)-1])
				}
			}
		}
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.status != 400 || ae.code != codeBadRequest {
				t.Fatalf("not a Zulip error: %v", err)
			}
			return
		}
		if len(p.list) > maxParams {
			t.Fatalf("%d params", len(p.list))
		}
		for _, pr := range p.list {
			if len(pr.value) > maxParamBytes {
				t.Fatalf("param %q: %d bytes", pr.name, len(pr.value))
			}
		}
		// A register built from anything either fails cleanly or yields a
		// queue whose filter is valid.
		qs, err := parseQueueSpec(p)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				t.Fatalf("not a Zulip error: %v", err)
			}
			return
		}
		if _, err := topic.NewFilter(qs.filter("zulip")); err != nil {
			t.Fatalf("filter %v: %v", qs.filter("zulip"), err)
		}
		if qs.lifespan <= 0 || qs.lifespan > MaxLifespan {
			t.Fatalf("lifespan %v", qs.lifespan)
		}
	})
}

// FuzzJSONValues: the JSON-valued parameters (narrow, recipients, typed
// values) never panic, and a parsed narrow round-trips through the stored
// queue meta.
func FuzzJSONValues(f *testing.F) {
	for _, s := range []string{
		`[]`, `[["stream","Denmark"]]`, `[{"operator":"topic","operand":"x","negated":true}]`, `[["dm",[1,2]]]`,
		`[["is","private"]]`, `[["-sender",5]]`, `null`, `["message"]`, `-1`, `true`, `"x"`, `a@b.c, d@e.f`, `[1,"a"]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if terms, err := parseNarrow(s); err == nil {
			b, err := json.Marshal(queueMeta{Narrow: terms})
			if err != nil {
				t.Fatal(err)
			}
			var back queueMeta
			if err := json.Unmarshal(b, &back); err != nil || len(back.Narrow) != len(terms) {
				t.Fatalf("narrow %q does not round-trip: %v", s, err)
			}
			m := msgFacts{Type: "stream", DisplayRecipient: json.RawMessage(`"Denmark"`)}
			matchNarrow(terms, &m, &user{ID: 1, Email: "a@b.c"}, false)
		}
		parseRecipients(s)
		p := &params{list: []param{{name: "v", value: s}}}
		// The short cuts for plain values answer as JSON does.
		b, err := p.boolean("v", false)
		var wantB *bool
		if werr := decodeParam("v", s, &wantB); (err == nil) != (werr == nil) || err == nil && b != (wantB != nil && *wantB) {
			t.Fatalf("boolean %q: %v %v; JSON %v %v", s, b, err, wantB, werr)
		}
		n, ok, err := p.integer("v")
		var wantN *int64
		if werr := decodeParam("v", s, &wantN); (err == nil) != (werr == nil) || err == nil && (ok != (wantN != nil) || ok && n != *wantN) {
			t.Fatalf("integer %q: %v %v %v; JSON %v %v", s, n, ok, err, wantN, werr)
		}
		p.stringList("v")
	})
}

// FuzzHeartbeatID: from any id a queue can hand out, a heartbeat's id is
// past it (but where a position's heartbeats stop counting), at or past
// the position its poll covered, and below the id of every event after
// that position.
func FuzzHeartbeatID(f *testing.F) {
	f.Add(uint64(0), uint64(0), uint64(0))
	f.Add(uint64(7), uint64(3), uint64(7))
	f.Add(uint64(7), uint64(idStep-1), uint64(7))
	f.Add(uint64(7), uint64(0), uint64(9))
	f.Fuzz(func(t *testing.T, pos, k, ahead uint64) {
		const maxSeq = 1<<41 - 2 // ids stay exact in JavaScript below it
		pos, k = pos%maxSeq, k%idStep
		through := pos + ahead%(maxSeq-pos)
		last := eventID(pos) + int64(k)
		hb := heartbeatID(mark{pos: pos, k: k}, through)
		if hb <= last && !(through == pos && k == idStep-1 && hb == last) {
			t.Fatalf("heartbeat %d after %d (pos %d k %d through %d)", hb, last, pos, k, through)
		}
		if hb <= eventID(through) || hb >= eventID(through+1) {
			t.Fatalf("heartbeat %d outside position %d's ids [%d, %d)", hb, through, eventID(through), eventID(through+1))
		}
		if hb >= 1<<53 {
			t.Fatalf("heartbeat %d not exact in JavaScript", hb)
		}
	})
}

// FuzzMergeState: any upstream register answer is refused or merged, and
// a merged one carries herald's queue, never the upstream's.
func FuzzMergeState(f *testing.F) {
	for _, s := range []string{
		`{"result":"success","msg":"","queue_id":"up","last_event_id":3,"realm_name":"R"}`,
		`{"result":"success","queue_id":7}`,
		`{"result":"error","code":"BAD_REQUEST"}`,
		`[]`, `null`, `{"result":"success","result":"error"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		out := map[string]any{"queue_id": "herald-q", "last_event_id": -1, "event_queue_longpoll_timeout_seconds": 90}
		state, _, err := mergeState(body, out)
		if err != nil {
			return
		}
		b, err := json.Marshal(state)
		if err != nil {
			t.Fatalf("merged state does not encode: %v", err)
		}
		var back struct {
			QueueID string `json:"queue_id"`
			Last    int64  `json:"last_event_id"`
		}
		if json.Unmarshal(b, &back) != nil || back.QueueID != "herald-q" || back.Last != -1 {
			t.Fatalf("merged %s", b)
		}
	})
}

// FuzzPlainToken: realms and queue ids are checked as the patterns they
// were checked with before (a realm's, and cursor.ValidID of a token).
func FuzzPlainToken(f *testing.F) {
	for _, s := range []string{"", "zulip", "a-b_C9", "a.b", "é", "a b", strings.Repeat("a", 63), strings.Repeat("a", 64),
		strings.Repeat("q", 200), strings.Repeat("q", 201), "3f2504e0-4f89-11d3-9a0c-0305e82c3301"} {
		f.Add(s)
	}
	realm := regexp.MustCompile(`^[A-Za-z0-9_-]{1,63}$`)
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := validRealm(s), realm.MatchString(s); got != want {
			t.Errorf("validRealm(%q) = %v, want %v", s, got, want)
		}
		_, got := queueCursorID("zulip", s)
		want := s != "" && !strings.Contains(s, ".") && cursor.ValidID(s) == nil
		if got != want {
			t.Errorf("queueCursorID(%q): %v, want %v", s, got, want)
		}
	})
}
