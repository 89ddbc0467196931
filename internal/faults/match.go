package faults

import (
	"time"

	"github.com/herald-io/herald/internal/topic"
)

// Rules is one version of the rules in effect. It never changes: a change
// publishes a new one, so a stream that remembers the Rules it was decided
// under knows, by comparing pointers, when to decide again.
type Rules struct {
	request []Rule // status, delay, reject_key, restart and slow_read, oldest first
	stream  []Rule // cut_stream, delay, restart and slow_read
	queue   []Rule // expire_queue
	n       int
	rand    func() float64
	now     func() time.Time
}

// newRules returns the published form of live, nil if it is empty.
func newRules(live []Rule, rand func() float64, now func() time.Time) *Rules {
	if len(live) == 0 {
		return nil
	}
	sortRules(live)
	rs := &Rules{rand: rand, now: now, n: len(live)}
	for _, r := range live {
		switch r.Action {
		case Status, RejectKey:
			rs.request = append(rs.request, r)
		case Delay, SlowRead:
			if r.Topic == "" { // a topic names streams: a request has none
				rs.request = append(rs.request, r)
			}
			rs.stream = append(rs.stream, r)
		case Restart:
			rs.request = append(rs.request, r)
			rs.stream = append(rs.stream, r)
		case CutStream:
			rs.stream = append(rs.stream, r)
		case ExpireQueue:
			rs.queue = append(rs.queue, r)
		}
	}
	return rs
}

// Len is how many rules are in effect.
func (rs *Rules) Len() int {
	if rs == nil {
		return 0
	}
	return rs.n
}

// applies reports whether r is for dialect and key, and wins its draw.
func (rs *Rules) applies(r *Rule, dialect, key string) bool {
	if r.Dialect != AnyDialect && r.Dialect != dialect {
		return false
	}
	if r.Key != "" && r.Key != key {
		return false
	}
	return r.Probability >= 1 || rs.rand() < r.Probability
}

// RequestFault is what the rules do to one request: hold it for Delay,
// then answer for Action (Status, Restart — a 503 — or RejectKey; "" lets
// it through), reading its body at Rate bytes a second (0: at once).
type RequestFault struct {
	Delay     time.Duration
	DelayRule string
	Action    Action
	Rule      string        // the id of Action's rule
	Status    int           // Status and Restart: 429 or 503
	Retry     time.Duration // Status and Restart: Retry-After
	Rate      int
	RateRule  string
}

// Request decides what a request of dialect, made with the key of id key,
// suffers; ok is false if nothing.
func (rs *Rules) Request(dialect, key string) (f RequestFault, ok bool) {
	for i := range rs.request {
		r := &rs.request[i]
		if !rs.applies(r, dialect, key) {
			continue
		}
		ok = true
		switch r.Action {
		case Delay:
			if d := time.Duration(r.Delay); d > f.Delay {
				f.Delay, f.DelayRule = d, r.ID
			}
		case SlowRead:
			if f.Rate == 0 || r.Rate < f.Rate {
				f.Rate, f.RateRule = r.Rate, r.ID
			}
		case Status:
			f.Action, f.Rule, f.Status, f.Retry = Status, r.ID, r.Status, time.Duration(r.RetryAfter)
			return f, true
		case Restart:
			f.Action, f.Rule, f.Status, f.Retry = Restart, r.ID, 503, time.Duration(r.RetryAfter)
			if f.Retry == 0 && r.Expires != nil { // until it is back, in whole seconds
				f.Retry = max(r.Expires.Sub(rs.now()), 0).Truncate(time.Second) + time.Second
			}
			return f, true
		case RejectKey:
			f.Action, f.Rule = RejectKey, r.ID
			return f, true
		}
	}
	return f, ok
}

// StreamFault is what the rules do to one stream.
type StreamFault struct {
	// CutAfter ends the stream after this many more events (0: never);
	// CutRule is its rule's id, so that a stream decided again keeps
	// counting the same rule's events.
	CutAfter int
	CutRule  string
	// CutAt ends the stream at this time (zero: never): every T after it
	// opened, or at once for a stream opened before a "now" rule.
	CutAt time.Time
	// Restart says the cut at CutAt is a restart's: a WebSocket is told
	// the server is going away.
	Restart bool
	// Delay holds each write this long.
	Delay time.Duration
	// Rate bounds the stream's writes, in bytes a second (0: none).
	Rate int
}

// Stream decides what a stream of dialect, opened at opened with the key
// of id key and reading f, suffers; ok is false if nothing. A rule with a
// topic applies to streams whose filter may deliver that topic.
func (rs *Rules) Stream(dialect, key string, f topic.Filter, opened time.Time) (sf StreamFault, ok bool) {
	for i := range rs.stream {
		r := &rs.stream[i]
		if r.Topic != "" && !f.Overlaps(r.Topic) {
			continue
		}
		if (r.Now || r.Action == Restart) && !opened.Before(r.Created) {
			continue // a "now" rule or a restart cuts the streams open when it was made
		}
		if !rs.applies(r, dialect, key) {
			continue
		}
		ok = true
		var at time.Time
		switch {
		case r.Action == Delay:
			sf.Delay = max(sf.Delay, time.Duration(r.Delay))
		case r.Action == SlowRead:
			if sf.Rate == 0 || r.Rate < sf.Rate {
				sf.Rate = r.Rate
			}
		case r.Action == Restart:
			at = r.Created
		case r.AfterEvents > 0:
			if sf.CutAfter == 0 || r.AfterEvents < sf.CutAfter {
				sf.CutAfter, sf.CutRule = r.AfterEvents, r.ID
			}
		case r.Every > 0:
			at = opened
			if r.Created.After(at) {
				at = r.Created
			}
			at = at.Add(time.Duration(r.Every))
		case r.Now:
			at = r.Created
		}
		if !at.IsZero() && (sf.CutAt.IsZero() || at.Before(sf.CutAt)) {
			sf.CutAt, sf.Restart = at, r.Action == Restart
		}
	}
	return sf, ok
}

// ExpireQueue decides whether the Zulip queue qid, registered at created
// with the key of id key, is to expire now; rule is the id of the rule
// that expires it.
func (rs *Rules) ExpireQueue(key, qid string, created time.Time) (rule string, ok bool) {
	if rs == nil {
		return "", false
	}
	for i := range rs.queue {
		r := &rs.queue[i]
		if (r.QueueID == "" || r.QueueID == qid) && created.Before(r.Created) && rs.applies(r, "zulip", key) {
			return r.ID, true
		}
	}
	return "", false
}

// ExpiresQueues reports whether any expire_queue rule is in effect, so a
// dialect can look at the polls waiting only then.
func (rs *Rules) ExpiresQueues() bool { return rs != nil && len(rs.queue) > 0 }
