package plex

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/herald-io/herald/internal/hub"
	"github.com/herald-io/herald/internal/topic"
)

// errBadFilter is wrapped by every filters= parse error; the answer is 400.
var errBadFilter = errors.New("bad filters")

// maxFilterTypes bounds the types one filters= value may name.
const maxFilterTypes = topic.MaxPatterns

// Filter selects notifications by type, as Plex's filters= parameter does.
type Filter struct {
	// Only, if not nil, lists the only types delivered.
	Only []string
	// Except lists types never delivered (when Only is nil).
	Except []string
}

// defaultExcept is what a stream without filters= leaves out: the log
// lines, which would drown the rest.
var defaultExcept = []string{"log"}

// ParseFilter reads filters= (or filter=, the spelling of the generated SDKs
// plexjs and plexgo; filters= wins when both are given) with Plex's
// semantics: absent = "-log"; empty = every type; "a,b" = only a and b;
// "-a,b" = every type but a and b.
//
// Empty entries ("a,,b", a trailing comma) are skipped as Plex does. An entry
// that can never be a type — characters outside letters, digits and "-_:.",
// wildcards, empty dot segments, or a "-" anywhere but first — is rejected
// with an error wrapping errBadFilter (400): such a value matches nothing,
// and a silently empty stream would hide the client's bug. Unknown but
// well-formed types are accepted: they may be published later.
func ParseFilter(q url.Values) (Filter, error) {
	raw, ok := q["filters"]
	if !ok {
		raw, ok = q["filter"]
	}
	if !ok {
		return Filter{Except: defaultExcept}, nil
	}
	s := strings.TrimSpace(raw[0])
	exclude := strings.HasPrefix(s, "-")
	if exclude {
		s = s[1:]
	}
	var types []string
	seen := make(map[string]bool)
	for entry := range strings.SplitSeq(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" || seen[entry] {
			continue
		}
		if strings.HasPrefix(entry, "-") {
			return Filter{}, fmt.Errorf("%w: %q: a leading '-' excludes the whole list and may only come first", errBadFilter, entry)
		}
		if err := topic.Validate(TopicPrefix + entry); err != nil {
			return Filter{}, fmt.Errorf("%w: %q is not a notification type", errBadFilter, entry)
		}
		if len(types) == maxFilterTypes {
			return Filter{}, fmt.Errorf("%w: more than %d types", errBadFilter, maxFilterTypes)
		}
		seen[entry] = true
		types = append(types, entry)
	}
	if exclude || len(types) == 0 {
		return Filter{Except: types}, nil
	}
	return Filter{Only: types}, nil
}

// Topics is the hub filter for f: the named types' topics, or all of Plex.
// Exclusions are applied per event by Allows.
func (f Filter) Topics() topic.Filter {
	if f.Only == nil {
		return topic.Filter{TopicPrefix + ">"}
	}
	t := make(topic.Filter, len(f.Only))
	for i, typ := range f.Only {
		t[i] = TopicPrefix + typ
	}
	return t
}

// Allows reports whether a notification of type typ passes f.
func (f Filter) Allows(typ string) bool {
	if f.Only != nil {
		for _, t := range f.Only {
			if t == typ {
				return true
			}
		}
		return false
	}
	for _, t := range f.Except {
		if t == typ {
			return false
		}
	}
	return true
}

// Excludes reports whether f drops some events its Topics match, so the
// stream must look at each one.
func (f Filter) Excludes() bool { return f.Only == nil && len(f.Except) > 0 }

// Passes reports whether a stream under f sends e: the subscription's
// topics did the choosing, unless f excludes some types.
func (f Filter) Passes(e *hub.Event) bool {
	return !f.Excludes() || f.Allows(notificationType(&e.Event))
}
