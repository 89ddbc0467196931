// Package webhook delivers the log's events to HTTP endpoints (outbound
// webhooks, signed as Standard Webhooks prescribes, at least once, retried
// on a schedule) and turns signed requests from other systems into events
// (inbound hooks, see hook.go).
//
// An endpoint's definition is stored under "endpoint.<id>" in the Bucket;
// lease.Supervise runs one delivery job for each on exactly one node at a
// time. What the job learns while it runs (its position, the failing mark,
// its retries, the last attempts) is stored under "state.<id>" by the job
// alone, so a change of the definition (which restarts the job) never races
// with it. The API talks to a running job only through the definition: a
// PATCH or a replay raises its Epoch, and a job that starts with an Epoch
// newer than its state's clears the failing mark (and, for a replay, moves
// the position) before it delivers.
package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/topic"
)

// Bucket is the engine KV bucket that holds endpoints, their state and
// inbound hooks.
const Bucket = "herald-webhooks"

// Key prefixes in the Bucket.
const (
	endpointPrefix = "endpoint."
	statePrefix    = "state."
	hookPrefix     = "hook."
	leasePrefix    = "webhook."
)

// Limits on what a client may store in an endpoint.
const (
	MaxTopics     = 32
	MaxTypes      = 32
	MaxHeaders    = 16
	maxHeaderLen  = 1024
	maxURLLen     = 2048
	maxRate       = 10000
	DefaultWindow = 8 // deliveries in flight at once for an unordered endpoint
)

// Errors callers branch on. ErrInvalid and ErrNotFound are kinded for the
// error table (dialect.Classify): a client sees their whole text.
var (
	ErrInvalid  = dialect.Sentinel(dialect.BadRequest, "invalid webhook")
	ErrNotFound = dialect.Sentinel(dialect.NotFound, "no such webhook")
)

// FieldError is a request refused because of one field; its text names it.
type FieldError struct {
	Field, Msg string
}

func (e *FieldError) Error() string             { return e.Field + ": " + e.Msg }
func (e *FieldError) Unwrap() error             { return ErrInvalid }
func (e *FieldError) ProblemKind() dialect.Kind { return dialect.BadRequest }
func fieldErr(f, format string, a ...any) *FieldError {
	return &FieldError{f, fmt.Sprintf(format, a...)}
}

// Endpoint is an outbound webhook as clients see it: never its secrets.
type Endpoint struct {
	ID      string            `json:"id"`
	Owner   string            `json:"owner"` // the id of the key that made it
	URL     string            `json:"url"`
	Topics  []string          `json:"topics"`
	Types   []string          `json:"types,omitempty"` // nil: every type
	Ordered bool              `json:"ordered"`         // one delivery in flight, in log order
	Rate    float64           `json:"rate,omitempty"`  // deliveries per second; 0: unlimited
	Headers map[string]string `json:"headers,omitempty"`
	Created time.Time         `json:"created"`
	Updated time.Time         `json:"updated"`
	// Epoch is raised by every PATCH and replay: the job that starts at a
	// new epoch clears the failing mark, and moves to Start if it is set.
	Epoch uint64 `json:"epoch"`
}

// record is an endpoint as stored: with its signing secrets, and where
// its epoch starts delivering (nil: where the last one left off).
type record struct {
	Endpoint
	Start   *uint64  `json:"start,omitempty"`
	Secrets []secret `json:"secrets"`
}

// secret is a signing secret; an old one signs too until Until.
type secret struct {
	Value string     `json:"value"` // whsec_…
	Until *time.Time `json:"until,omitempty"`
}

// keys returns the keys that sign at now, newest first.
func (r *record) keys(now time.Time) [][]byte {
	var out [][]byte
	for _, s := range r.Secrets {
		if s.Until != nil && !now.Before(*s.Until) {
			continue
		}
		if k, err := ParseSecret(s.Value); err == nil {
			out = append(out, k)
		}
	}
	return out
}

// Filter is the endpoint's topic filter.
func (e *Endpoint) Filter() topic.Filter { return topic.Filter(e.Topics) }

// Spec is a request body of POST (every field but After may be given) and
// PATCH /v1/webhooks (only the fields to change) .
type Spec struct {
	URL     *string           `json:"url"`
	Topics  []string          `json:"topics"`
	Types   []string          `json:"types"`
	Secret  *string           `json:"secret"` // POST: the secret (default: generated); PATCH: rotate to it
	Rotate  bool              `json:"rotate"` // PATCH: rotate to a generated secret
	Grace   string            `json:"grace"`  // PATCH: how long the old secret keeps signing (default 24h)
	Ordered *bool             `json:"ordered"`
	Rate    *float64          `json:"rate"`
	Headers map[string]string `json:"headers"`
	After   *uint64           `json:"after"` // POST: deliver the events after this position (default: from now)
}

// DefaultGrace is how long a rotated secret keeps signing.
const DefaultGrace = 24 * time.Hour

// ParseSpec decodes a request body; it checks the fields' shapes, not
// what they say (see apply).
func ParseSpec(body []byte) (Spec, error) {
	var s Spec
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return Spec{}, fieldErr(te.Field, "must be a JSON %s", te.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return Spec{}, fieldErr(strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), "unknown field")
		}
		return Spec{}, fieldErr("body", "must be a JSON object")
	}
	if dec.More() {
		return Spec{}, fieldErr("body", "must be one JSON object")
	}
	return s, nil
}

// reserved are request headers herald sets itself.
var reserved = []string{"Content-Type", "Content-Length", "Host", "User-Agent", "Transfer-Encoding", "Connection",
	http.CanonicalHeaderKey(HeaderID), http.CanonicalHeaderKey(HeaderTime), http.CanonicalHeaderKey(HeaderSig)}

// apply puts the spec's fields on r (a new record, or a copy of a stored
// one) and checks the result. policy checks the URL's address when it is
// a literal one (names are checked when they are dialled).
func (s *Spec) apply(r *record, policy *Policy, now time.Time) (newSecret string, err error) {
	if s.URL != nil {
		if err := checkURL(*s.URL, policy); err != nil {
			return "", err
		}
		r.URL = *s.URL
	}
	if s.Topics != nil {
		if len(s.Topics) == 0 || len(s.Topics) > MaxTopics {
			return "", fieldErr("topics", "give 1 to %d topic patterns", MaxTopics)
		}
		for _, p := range s.Topics {
			if err := topic.ValidatePattern(p); err != nil {
				return "", fieldErr("topics", "%v", err)
			}
		}
		r.Topics = slices.Clone(s.Topics)
	}
	if s.Types != nil {
		if len(s.Types) > MaxTypes {
			return "", fieldErr("types", "at most %d", MaxTypes)
		}
		for _, t := range s.Types {
			if t == "" || len(t) > 128 {
				return "", fieldErr("types", "a type is 1 to 128 bytes")
			}
		}
		r.Types = slices.Clone(s.Types)
		if len(r.Types) == 0 {
			r.Types = nil
		}
	}
	if s.Ordered != nil {
		r.Ordered = *s.Ordered
	}
	if s.Rate != nil {
		if *s.Rate < 0 || *s.Rate > maxRate {
			return "", fieldErr("rate", "must be 0 (unlimited) to %d deliveries per second", maxRate)
		}
		r.Rate = *s.Rate
	}
	if s.Headers != nil {
		if err := checkHeaders(s.Headers); err != nil {
			return "", err
		}
		r.Headers = maps.Clone(s.Headers)
		if len(r.Headers) == 0 {
			r.Headers = nil
		}
	}
	if r.URL == "" {
		return "", fieldErr("url", "is required")
	}
	if len(r.Topics) == 0 {
		return "", fieldErr("topics", "is required")
	}
	return s.secret(r, now)
}

// secret sets a new secret when asked (or for a new record): the old one
// keeps signing for the grace period.
func (s *Spec) secret(r *record, now time.Time) (string, error) {
	if s.Grace != "" && len(r.Secrets) == 0 {
		return "", fieldErr("grace", "only when rotating a secret")
	}
	if s.Secret == nil && !s.Rotate && len(r.Secrets) > 0 {
		return "", nil
	}
	v := NewSecret()
	if s.Secret != nil {
		if _, err := ParseSecret(*s.Secret); err != nil {
			return "", fieldErr("secret", "%v", strings.TrimPrefix(err.Error(), "invalid webhook: "))
		}
		v = *s.Secret
	}
	grace := DefaultGrace
	if s.Grace != "" {
		d, err := time.ParseDuration(s.Grace)
		if err != nil || d < 0 || d > 30*24*time.Hour {
			return "", fieldErr("grace", "must be a duration from 0s to 720h")
		}
		grace = d
	}
	until := now.Add(grace)
	kept := []secret{{Value: v}}
	for _, old := range r.Secrets {
		if old.Until != nil && !now.Before(*old.Until) {
			continue // expired
		}
		if old.Until == nil || old.Until.After(until) {
			old.Until = &until
		}
		if grace > 0 {
			kept = append(kept, old)
		}
	}
	r.Secrets = kept
	return v, nil
}

func checkURL(raw string, policy *Policy) error {
	if len(raw) > maxURLLen {
		return fieldErr("url", "at most %d bytes", maxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Fragment != "" {
		return fieldErr("url", "must be an http or https URL without credentials or fragment")
	}
	if err := policy.CheckHost(u.Hostname()); err != nil {
		return fieldErr("url", "%v", err)
	}
	return nil
}

func checkHeaders(h map[string]string) error {
	if len(h) > MaxHeaders {
		return fieldErr("headers", "at most %d", MaxHeaders)
	}
	for k, v := range h {
		if !validToken(k) {
			return fieldErr("headers", "%q is not a header name", k)
		}
		if slices.Contains(reserved, http.CanonicalHeaderKey(k)) {
			return fieldErr("headers", "%s is set by herald", k)
		}
		if len(v) > maxHeaderLen || strings.ContainsAny(v, "\r\n\x00") {
			return fieldErr("headers", "the value of %s must be one line of at most %d bytes", k, maxHeaderLen)
		}
	}
	return nil
}

// validToken reports whether s is an HTTP token (RFC 9110), as header
// names are.
func validToken(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// wants reports whether the endpoint delivers events of type t.
func (e *Endpoint) wants(t string) bool {
	return e.Types == nil || slices.Contains(e.Types, t)
}
