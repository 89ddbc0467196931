// Package route turns one dialect's events into another's actions: a
// route is a durable rule — a topic filter, a condition and a mapping into
// an action (a native event, a Zulip message, a Hue resource write) — run
// exactly once per source event, in order, on one node at a time.
//
// Conditions and mappings are CEL expressions (cel.dev/cel-go) over
// `event` (seq, id, time, topic, type) and `data` (the payload). An action
// is carried out through herald's own API for its dialect, in process,
// acting as the key the route names (dialect.ActAs), so it is checked,
// stored and served exactly as a client's request would be; its events get
// ids derived from the route and the source event's sequence
// (dialect.WithEventID), so an action repeated after a crash is stored once.
package route

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/herald-io/herald/internal/topic"
)

// Spec is a route as the operator wrote it.
type Spec struct {
	Name   string   `json:"name"`
	Topics []string `json:"topics"`          // source topic patterns
	When   string   `json:"when,omitempty"`  // CEL: bool; empty matches every event of Topics
	Action Action   `json:"action"`          // what to do with a matching event
	Start  string   `json:"start,omitempty"` // "now" (default), "earliest", or a sequence to start after
}

// Action is what a route does with a matching event.
type Action struct {
	// Kind is the action: native.publish, zulip.message or hue.put.
	Kind string `json:"kind"`
	// As is the id of the key the action acts as: a Zulip user's key for
	// zulip.message, a Hue application key for hue.put, optional (a native
	// key whose publish scope is checked) for native.publish.
	As string `json:"as,omitempty"`
	// Params is a CEL expression giving the action's parameters as a map
	// (see Kinds).
	Params string `json:"params"`
}

// Kinds are the actions a route can take, with the parameters each takes.
var Kinds = map[string]string{
	"native.publish": "{'topic': 'app.x', 'type': 't', 'data': {...}}",
	"zulip.message":  "{'to': 'stream name', 'topic': 'topic', 'content': 'text'} or {'type': 'direct', 'to': ['email'], 'content': 'text'}",
	"hue.put":        "{'resource': 'light/<id>', 'body': {'on': {'on': true}}}",
}

var validName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ErrInvalid wraps what is wrong with a spec.
var ErrInvalid = errors.New("invalid route")

// check validates everything but the expressions (compile does those).
func (s *Spec) check() error {
	if !validName.MatchString(s.Name) {
		return fmt.Errorf("%w: name must be 1 to 64 letters, digits, '-' or '_'", ErrInvalid)
	}
	if len(s.Topics) == 0 {
		return fmt.Errorf("%w: topics: at least one pattern, like \"hue.button.>\"", ErrInvalid)
	}
	if _, err := topic.NewFilter(s.Topics); err != nil {
		return fmt.Errorf("%w: topics: %v", ErrInvalid, err)
	}
	if _, ok := Kinds[s.Action.Kind]; !ok {
		return fmt.Errorf("%w: action.kind %q: one of native.publish, zulip.message, hue.put", ErrInvalid, s.Action.Kind)
	}
	if s.Action.Params == "" {
		return fmt.Errorf("%w: action.params: a CEL map, for %s: %s", ErrInvalid, s.Action.Kind, Kinds[s.Action.Kind])
	}
	if s.Action.Kind != "native.publish" && s.Action.As == "" {
		return fmt.Errorf("%w: action.as: the id of the key %s acts as", ErrInvalid, s.Action.Kind)
	}
	if _, err := s.startAfter(); err != nil {
		return err
	}
	return nil
}

// startAfter parses Start: ok is false for "now".
func (s *Spec) startAfter() (after uint64, err error) {
	switch strings.ToLower(s.Start) {
	case "", "now":
		return 0, nil
	case "earliest":
		return 0, nil
	}
	n, err := strconv.ParseUint(s.Start, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: start: \"now\", \"earliest\" or a sequence, not %q", ErrInvalid, s.Start)
	}
	return n, nil
}
