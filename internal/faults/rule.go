// Package faults injects faults into delivery on purpose, for the
// developers of clients: answer 429 or 503, hold requests or stream
// writes, reject a key, cut streams, expire Zulip queues, restart a
// dialect's simulated server, read and write slowly. Rules live in an engine KV bucket
// that every node follows (Store), are matched by dialect, key and topic,
// and are applied by the request pipeline (dialect.Guard) and the delivery
// engine (internal/deliver). Faults change delivery, never what is stored,
// and with no rule in effect each hook costs one atomic load.
package faults

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/herald-io/herald/internal/topic"
)

// Errors callers branch on.
var (
	// ErrInvalid is wrapped by every *FieldError: a rule a client asked
	// for that cannot be.
	ErrInvalid = errors.New("invalid fault rule")
	// ErrNotFound is a rule id that names no rule.
	ErrNotFound = errors.New("no such fault rule")
)

// FieldError is a rule refused because of one field; its text names the
// field.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }
func (e *FieldError) Unwrap() error { return ErrInvalid }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Action is what a rule does.
type Action string

// The actions.
const (
	// Status answers 429 or 503, with Retry-After, before the handler runs.
	Status Action = "status"
	// Delay holds each request, and each write of a stream, for a while.
	Delay Action = "delay"
	// RejectKey answers as for a wrong key (the dialect's 401 or 403).
	RejectKey Action = "reject_key"
	// CutStream ends streams after a number of events, every so often, or
	// at once, after a whole event, so clients resume exactly.
	CutStream Action = "cut_stream"
	// ExpireQueue expires Zulip event queues: each matching queue
	// registered before the rule was made is deleted at its next poll
	// (or at once if a poll is waiting on it), which answers
	// BAD_EVENT_QUEUE_ID; queues registered later are left alone, so a
	// client that registers again goes on.
	ExpireQueue Action = "expire_queue"
	// Restart restarts a dialect's simulated server: the streams open
	// when the rule is made are cut at once (a WebSocket is closed with
	// 1001, going away), and every request answers 503 with Retry-After
	// until Down has passed; then the rule is over and the same state
	// serves again (it lives in the engine: nothing is lost or restored).
	Restart Action = "restart"
	// SlowRead reads request bodies and writes streams at Rate bytes a
	// second.
	SlowRead Action = "slow_read"
)

// Dialects are the names a rule's dialect may take; "any" (or none)
// matches every one.
var Dialects = []string{"native", "hue", "zulip", "jetstream", "plex"}

// AnyDialect is the dialect of a rule that applies to all of them.
const AnyDialect = "any"

// Bounds of a rule's durations.
const (
	MaxDelay          = 10 * time.Minute
	MaxRetryAfter     = time.Hour
	DefaultRetryAfter = time.Second
	DefaultStatus     = 503
	DefaultDown       = 5 * time.Second
	MaxDown           = time.Hour
)

// Rule is a fault in effect (or expired), as stored and listed.
type Rule struct {
	ID          string  `json:"id"`
	Dialect     string  `json:"dialect"` // a name of Dialects, or AnyDialect
	Key         string  `json:"key,omitempty"`
	Topic       string  `json:"topic,omitempty"`
	Probability float64 `json:"probability"`
	Action      Action  `json:"action"`

	Status      int      `json:"status,omitempty"`
	RetryAfter  Duration `json:"retry_after,omitempty"`
	Delay       Duration `json:"delay,omitempty"`
	AfterEvents int      `json:"after_events,omitempty"`
	Every       Duration `json:"every,omitempty"`
	Now         bool     `json:"now,omitempty"`
	QueueID     string   `json:"queue_id,omitempty"`
	Down        Duration `json:"down,omitempty"`
	Rate        int      `json:"rate,omitempty"` // bytes a second

	Created time.Time  `json:"created"`
	Expires *time.Time `json:"expires,omitempty"`

	rev uint64 // the KV revision it was read at
}

// expired reports whether the rule's time is over at now.
func (r *Rule) expired(now time.Time) bool {
	return r.Expires != nil && !now.Before(*r.Expires)
}

// Spec is a rule as a client asks for it (POST /v1/faults). Durations are
// Go duration text ("2s", "500ms").
type Spec struct {
	Dialect     string   `json:"dialect,omitempty"`
	Key         string   `json:"key,omitempty"`   // a key's id
	Topic       string   `json:"topic,omitempty"` // streams whose filter may deliver this pattern
	Probability *float64 `json:"probability,omitempty"`
	TTL         string   `json:"ttl,omitempty"` // the rule ends this long after it is made
	Action      Action   `json:"action"`

	Status      int    `json:"status,omitempty"`      // status: 429 or 503 (default 503)
	RetryAfter  string `json:"retry_after,omitempty"` // status: default 1s
	Delay       string `json:"delay,omitempty"`       // delay
	AfterEvents int    `json:"after_events,omitempty"`
	Every       string `json:"every,omitempty"`
	Now         bool   `json:"now,omitempty"`
	QueueID     string `json:"queue_id,omitempty"` // expire_queue: only this Zulip queue
	Down        string `json:"down,omitempty"`     // restart: how long it answers 503 (default 5s)
	Rate        int    `json:"rate,omitempty"`     // slow_read: bytes a second
}

// ParseSpec decodes a request body into a Spec, refusing unknown fields,
// and checks it; every error is a *FieldError.
func ParseSpec(body []byte) (Spec, error) {
	var s Spec
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Spec{}, decodeErr(err)
	}
	if dec.More() {
		return Spec{}, fieldErr("body", "must be one JSON object")
	}
	if _, err := s.rule("", time.Time{}); err != nil {
		return Spec{}, err
	}
	return s, nil
}

// decodeErr names the field a JSON error is about.
func decodeErr(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fieldErr(te.Field, "must be a JSON %s", jsonKind(te.Type.Kind()))
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if f = strings.Trim(f, `"`); f != "" {
			return fieldErr(f, "unknown field")
		}
	}
	return fieldErr("body", "must be a JSON object: %v", err)
}

func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Float64:
		return "number"
	}
	return "value of another type"
}

// rule checks the spec and returns the rule it asks for, made at now.
func (s Spec) rule(id string, now time.Time) (Rule, error) {
	r := Rule{ID: id, Dialect: s.Dialect, Key: s.Key, Topic: s.Topic, Probability: 1, Action: s.Action, Created: now}
	switch r.Dialect {
	case "", AnyDialect:
		r.Dialect = AnyDialect
	default:
		if !slices.Contains(Dialects, r.Dialect) {
			return Rule{}, fieldErr("dialect", "must be one of %s or %s", strings.Join(Dialects, ", "), AnyDialect)
		}
	}
	if err := checkKeyID(r.Key); err != nil {
		return Rule{}, err
	}
	if s.Probability != nil {
		p := *s.Probability
		if math.IsNaN(p) || p < 0 || p > 1 {
			return Rule{}, fieldErr("probability", "must be between 0 and 1")
		}
		r.Probability = p
	}
	if s.TTL != "" {
		if s.Action == Restart {
			return Rule{}, fieldErr("ttl", "does not apply to action restart: it ends after down")
		}
		ttl, err := parseDuration("ttl", s.TTL, 0)
		if err != nil {
			return Rule{}, err
		}
		exp := now.Add(ttl)
		r.Expires = &exp
	}
	if err := s.action(&r); err != nil {
		return Rule{}, err
	}
	return r, nil
}

// action checks the fields of the spec's action and that no other
// action's fields are set.
func (s Spec) action(r *Rule) error {
	set := map[string]bool{
		"status": s.Status != 0, "retry_after": s.RetryAfter != "", "delay": s.Delay != "",
		"after_events": s.AfterEvents != 0, "every": s.Every != "", "now": s.Now, "topic": s.Topic != "",
		"queue_id": s.QueueID != "", "down": s.Down != "", "rate": s.Rate != 0,
	}
	var own []string
	switch s.Action {
	case Status:
		own = []string{"status", "retry_after"}
		r.Status, r.RetryAfter = DefaultStatus, Duration(DefaultRetryAfter)
		if s.Status != 0 {
			if s.Status != 429 && s.Status != 503 {
				return fieldErr("status", "must be 429 or 503")
			}
			r.Status = s.Status
		}
		if s.RetryAfter != "" {
			d, err := parseDuration("retry_after", s.RetryAfter, MaxRetryAfter)
			if err != nil {
				return err
			}
			r.RetryAfter = Duration(d)
		}
	case Delay:
		own = []string{"delay", "topic"}
		if s.Delay == "" {
			return fieldErr("delay", "is required with action delay (e.g. \"2s\")")
		}
		d, err := parseDuration("delay", s.Delay, MaxDelay)
		if err != nil {
			return err
		}
		r.Delay = Duration(d)
	case RejectKey:
	case CutStream:
		own = []string{"after_events", "every", "now", "topic"}
		n := 0
		if s.AfterEvents != 0 {
			if s.AfterEvents < 1 {
				return fieldErr("after_events", "must be at least 1")
			}
			r.AfterEvents, n = s.AfterEvents, n+1
		}
		if s.Every != "" {
			d, err := parseDuration("every", s.Every, 0)
			if err != nil {
				return err
			}
			r.Every, n = Duration(d), n+1
		}
		if s.Now {
			r.Now, n = true, n+1
		}
		if n != 1 {
			return fieldErr("action", "cut_stream needs exactly one of after_events, every or now")
		}
	case ExpireQueue:
		own = []string{"queue_id"}
		if err := expireQueue(s, r); err != nil {
			return err
		}
	case Restart:
		own = []string{"down", "retry_after"}
		if err := restart(s, r); err != nil {
			return err
		}
	case SlowRead:
		own = []string{"rate", "topic"}
		if s.Rate < 1 {
			return fieldErr("rate", "is required with action slow_read: bytes a second, at least 1")
		}
		r.Rate = s.Rate
	case "":
		return fieldErr("action", "is required: "+actionNames)
	default:
		return fieldErr("action", "must be %s, not %q", actionNames, s.Action)
	}
	for _, f := range []string{"status", "retry_after", "delay", "after_events", "every", "now", "topic", "queue_id", "down", "rate"} {
		if set[f] && !slices.Contains(own, f) {
			return fieldErr(f, "does not apply to action %s", s.Action)
		}
	}
	if r.Topic != "" {
		if err := topic.ValidatePattern(r.Topic); err != nil {
			return fieldErr("topic", "%v", err)
		}
	}
	return nil
}

// actionNames lists the actions for an error message.
const actionNames = "status, delay, reject_key, cut_stream, expire_queue, restart or slow_read"

// expireQueue checks an expire_queue rule: Zulip's alone.
func expireQueue(s Spec, r *Rule) error {
	switch r.Dialect {
	case AnyDialect:
		r.Dialect = "zulip"
	case "zulip":
	default:
		return fieldErr("dialect", "expire_queue is for zulip queues")
	}
	if s.QueueID != "" {
		if len(s.QueueID) > 128 || strings.ContainsFunc(s.QueueID, func(c rune) bool { return c <= ' ' || c > '~' }) {
			return fieldErr("queue_id", "must be a Zulip queue id")
		}
		r.QueueID = s.QueueID
	}
	return nil
}

// restart checks a restart rule: a whole dialect's server, for a time
// that is its expiry.
func restart(s Spec, r *Rule) error {
	if r.Key != "" {
		return fieldErr("key", "does not apply to action restart: a server restarts for every key")
	}
	if r.Probability != 1 {
		return fieldErr("probability", "does not apply to action restart")
	}
	down := DefaultDown
	if s.Down != "" {
		d, err := parseDuration("down", s.Down, MaxDown)
		if err != nil {
			return err
		}
		down = d
	}
	if s.RetryAfter != "" {
		d, err := parseDuration("retry_after", s.RetryAfter, MaxRetryAfter)
		if err != nil {
			return err
		}
		r.RetryAfter = Duration(d)
	}
	r.Down = Duration(down)
	end := r.Created.Add(down)
	r.Expires = &end
	return nil
}

// checkKeyID refuses what cannot be a key's id, and a token above all: a
// rule must not store a secret.
func checkKeyID(id string) error {
	if strings.HasPrefix(id, "hk_") {
		return fieldErr("key", "give the key's id (GET /v1/keys), not its token")
	}
	if len(id) > 64 {
		return fieldErr("key", "must be a key's id")
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fieldErr("key", "must be a key's id")
		}
	}
	return nil
}

// parseDuration reads a positive duration no longer than limit (0: no
// limit).
func parseDuration(field, s string, limit time.Duration) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return 0, fieldErr(field, "must be a duration such as \"2s\" or \"500ms\"")
	case d <= 0:
		return 0, fieldErr(field, "must be more than 0")
	case limit > 0 && d > limit:
		return 0, fieldErr(field, "must be at most %s", limit)
	}
	return d, nil
}

// Duration is a time.Duration written as Go duration text in JSON.
type Duration time.Duration

// MarshalJSON writes the duration as text ("1.5s").
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads duration text.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
