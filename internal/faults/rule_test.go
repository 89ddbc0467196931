package faults

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// Every refusal names the field at fault, so a client can fix its request.
func TestParseSpecNamesTheField(t *testing.T) {
	for _, tc := range []struct{ body, field string }{
		{`{}`, "action"},
		{`{"action":"explode"}`, "action"},
		{`{"action":"cut_stream"}`, "action"},
		{`{"action":"cut_stream","after_events":3,"now":true}`, "action"},
		{`{"action":"cut_stream","after_events":-1}`, "after_events"},
		{`{"action":"cut_stream","after_events":"3"}`, "after_events"},
		{`{"action":"cut_stream","every":"soon"}`, "every"},
		{`{"action":"cut_stream","every":"-1s"}`, "every"},
		{`{"action":"status","status":500}`, "status"},
		{`{"action":"status","retry_after":"2h"}`, "retry_after"},
		{`{"action":"status","after_events":3}`, "after_events"},
		{`{"action":"status","topic":"app.>"}`, "topic"},
		{`{"action":"reject_key","delay":"1s"}`, "delay"},
		{`{"action":"delay"}`, "delay"},
		{`{"action":"delay","delay":"11m"}`, "delay"},
		{`{"action":"delay","delay":"1s","topic":"app..x"}`, "topic"},
		{`{"action":"delay","delay":"1s","status":429}`, "status"},
		{`{"action":"reject_key","dialect":"mqtt"}`, "dialect"},
		{`{"action":"reject_key","key":"hk_0123456789abcdef_secret"}`, "key"},
		{`{"action":"reject_key","key":"a b"}`, "key"},
		{`{"action":"reject_key","probability":1.5}`, "probability"},
		{`{"action":"reject_key","probability":"half"}`, "probability"},
		{`{"action":"reject_key","ttl":"0s"}`, "ttl"},
		{`{"action":"reject_key","colour":"red"}`, "colour"},
		{`{"action":"expire_queue","dialect":"hue"}`, "dialect"},
		{`{"action":"expire_queue","queue_id":"a b"}`, "queue_id"},
		{`{"action":"expire_queue","rate":10}`, "rate"},
		{`{"action":"restart","down":"2h"}`, "down"},
		{`{"action":"restart","down":"0s"}`, "down"},
		{`{"action":"restart","key":"k1"}`, "key"},
		{`{"action":"restart","probability":0.5}`, "probability"},
		{`{"action":"restart","ttl":"1m"}`, "ttl"},
		{`{"action":"restart","topic":"app.>"}`, "topic"},
		{`{"action":"slow_read"}`, "rate"},
		{`{"action":"slow_read","rate":-5}`, "rate"},
		{`{"action":"slow_read","rate":10,"down":"1s"}`, "down"},
		{`{"action":"cut_stream","now":true,"queue_id":"q"}`, "queue_id"},
		{`{"action":"reject_key"} {}`, "body"},
		{`[1]`, "body"},
		{`not json`, "body"},
	} {
		_, err := ParseSpec([]byte(tc.body))
		var fe *FieldError
		if !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want a FieldError", tc.body, err)
			continue
		}
		if fe.Field != tc.field || !strings.HasPrefix(err.Error(), tc.field+": ") {
			t.Errorf("%s: %q names %q, want %q", tc.body, err, fe.Field, tc.field)
		}
	}
}

func TestSpecDefaults(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		body  string
		check func(Rule) bool
	}{
		{`{"action":"status"}`, func(r Rule) bool {
			return r.Status == 503 && r.RetryAfter == Duration(time.Second) && r.Probability == 1 && r.Dialect == AnyDialect
		}},
		{`{"action":"status","status":429,"retry_after":"3s","dialect":"hue","probability":0}`, func(r Rule) bool {
			return r.Status == 429 && r.RetryAfter == Duration(3*time.Second) && r.Probability == 0 && r.Dialect == "hue"
		}},
		{`{"dialect":"native","action":"cut_stream","after_events":3}`, func(r Rule) bool {
			return r.AfterEvents == 3 && r.Dialect == "native" && r.Expires == nil
		}},
		{`{"action":"delay","delay":"250ms","ttl":"1m","topic":"app.>"}`, func(r Rule) bool {
			return r.Delay == Duration(250*time.Millisecond) && r.Expires != nil && r.Expires.Equal(now.Add(time.Minute))
		}},
		{`{"action":"expire_queue"}`, func(r Rule) bool { return r.Dialect == "zulip" && r.QueueID == "" && r.Expires == nil }},
		{`{"action":"expire_queue","queue_id":"1700000000:12","dialect":"zulip","ttl":"1m"}`, func(r Rule) bool {
			return r.QueueID == "1700000000:12" && r.Expires.Equal(now.Add(time.Minute))
		}},
		// A restart ends by itself once it is back up.
		{`{"action":"restart","dialect":"hue"}`, func(r Rule) bool {
			return r.Down == Duration(DefaultDown) && r.RetryAfter == 0 && r.Expires != nil && r.Expires.Equal(now.Add(DefaultDown))
		}},
		{`{"action":"restart","down":"30s","retry_after":"2s"}`, func(r Rule) bool {
			return r.Down == Duration(30*time.Second) && r.RetryAfter == Duration(2*time.Second) && r.Expires.Equal(now.Add(30*time.Second))
		}},
		{`{"action":"slow_read","rate":512,"topic":"hue.>"}`, func(r Rule) bool { return r.Rate == 512 && r.Topic == "hue.>" }},
	} {
		s, err := ParseSpec([]byte(tc.body))
		if err != nil {
			t.Errorf("%s: %v", tc.body, err)
			continue
		}
		r, err := s.rule("0123456789abcdef", now)
		if err != nil || !tc.check(r) {
			t.Errorf("%s: %+v %v", tc.body, r, err)
		}
	}
}

// FuzzParseSpec: whatever the body, ParseSpec either refuses it naming a
// field, or accepts a spec that makes a rule.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{
		`{"dialect":"native","action":"cut_stream","after_events":3}`,
		`{"action":"status","status":429,"retry_after":"2s","probability":0.5}`,
		`{"action":"delay","delay":"1s","topic":"app.>","ttl":"1h"}`,
		`{"action":"reject_key","key":"0123456789abcdef"}`,
		`{"action":"cut_stream","every":"30s"}`, `{"action":"cut_stream","now":true}`, `{}`, `null`, `[]`,
		`{"action":"expire_queue","queue_id":"1700000000:1"}`, `{"action":"restart","dialect":"plex","down":"3s"}`,
		`{"action":"slow_read","rate":100}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := ParseSpec(body)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field == "" {
				t.Fatalf("refusal %v names no field", err)
			}
			return
		}
		r, err := s.rule("0123456789abcdef", time.Now())
		if err != nil {
			t.Fatalf("accepted spec %+v makes no rule: %v", s, err)
		}
		if r.Probability < 0 || r.Probability > 1 || r.Action == "" {
			t.Fatalf("rule out of bounds: %+v", r)
		}
	})
}
