// Package topic validates event topics and matches them against subscription
// filters. Topics are dot-separated tokens ("app.door.front"); filters use the
// NATS subject wildcards "*" (exactly one token) and ">" (one or more trailing
// tokens), so that a filter maps one-to-one onto a JetStream subject filter.
package topic

import (
	"errors"
	"fmt"
	"strings"
)

// MaxLen is the longest topic or pattern accepted, in bytes.
const MaxLen = 255

// MaxPatterns bounds how many patterns one filter may hold.
const MaxPatterns = 32

// ErrInvalid is wrapped by every validation error of this package.
var ErrInvalid = errors.New("invalid topic")

// Validate reports whether t is a concrete topic an event may be published to.
func Validate(t string) error {
	return check(t, false)
}

// ValidatePattern reports whether p is a valid filter pattern.
func ValidatePattern(p string) error {
	return check(p, true)
}

func check(s string, wild bool) error {
	if s == "" {
		return fmt.Errorf("%w: empty", ErrInvalid)
	}
	if len(s) > MaxLen {
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalid, MaxLen)
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			continue
		}
		tok := s[start:i]
		if tok == "" {
			return fmt.Errorf("%w: %q has an empty token", ErrInvalid, s)
		}
		if tok == "*" || tok == ">" {
			if !wild {
				return fmt.Errorf("%w: %q: wildcards are not allowed in a topic", ErrInvalid, s)
			}
			if tok == ">" && i != len(s) {
				return fmt.Errorf("%w: %q: '>' must be the last token", ErrInvalid, s)
			}
		} else {
			for j := 0; j < len(tok); j++ {
				if !tokenByte(tok[j]) {
					return fmt.Errorf("%w: %q: character %q is not allowed", ErrInvalid, s, tok[j])
				}
			}
		}
		start = i + 1
	}
	return nil
}

// tokenByte reports whether c may appear in a token: letters, digits and "-_:"
// (ids and names used by the dialects, e.g. UUIDs and Zulip realms).
func tokenByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	case c == '-', c == '_', c == ':':
		return true
	}
	return false
}

// PrivateNamespace is the first token of topics only their own readers may
// see: a Zulip realm's messages, direct messages included. A pattern
// matches a topic there only if it names the namespace ("zulip.>",
// "zulip.acme.message"); a wildcard in the first token never does, so a
// key allowed to read ">" does not read every user's direct messages.
const PrivateNamespace = "zulip"

// private reports whether t is in the private namespace.
func private(t string) bool {
	return strings.HasPrefix(t, PrivateNamespace) &&
		(len(t) == len(PrivateNamespace) || t[len(PrivateNamespace)] == '.')
}

// Match reports whether topic t matches pattern p.
func Match(p, t string) bool {
	if len(p) > 0 && (p[0] == '*' || p[0] == '>') && private(t) {
		return false
	}
	for {
		pi := strings.IndexByte(p, '.')
		ti := strings.IndexByte(t, '.')
		var ptok, ttok string
		if pi < 0 {
			ptok = p
		} else {
			ptok = p[:pi]
		}
		if ti < 0 {
			ttok = t
		} else {
			ttok = t[:ti]
		}
		switch {
		case ptok == ">":
			return true
		case ptok != "*" && ptok != ttok:
			return false
		}
		if pi < 0 || ti < 0 {
			return pi < 0 && ti < 0
		}
		p, t = p[pi+1:], t[ti+1:]
	}
}

// Filter is a set of patterns; an empty filter matches every topic.
type Filter []string

// ParseFilter parses a comma-separated list of patterns ("app.>,hue.*").
// An empty string gives the filter that matches everything.
func ParseFilter(s string) (Filter, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	return NewFilter(strings.Split(s, ","))
}

// NewFilter validates patterns and returns them as a Filter, dropping
// duplicates and patterns already covered by ">".
func NewFilter(patterns []string) (Filter, error) {
	if len(patterns) > MaxPatterns {
		return nil, fmt.Errorf("%w: more than %d patterns", ErrInvalid, MaxPatterns)
	}
	f := make(Filter, 0, len(patterns))
	all := false
	for _, p := range patterns {
		p = strings.TrimSpace(p)
		if err := ValidatePattern(p); err != nil {
			return nil, err
		}
		if p == ">" {
			all = true
			continue
		}
		dup := false
		for _, q := range f {
			dup = dup || q == p
		}
		if !dup {
			f = append(f, p)
		}
	}
	if !all {
		return f, nil
	}
	// ">" makes every other pattern redundant but those naming the private
	// namespace, which it never matches.
	named := Filter{">"}
	for _, p := range f {
		if first, _, _ := strings.Cut(p, "."); first == PrivateNamespace {
			named = append(named, p)
		}
	}
	if len(named) == 1 {
		return nil, nil
	}
	return named, nil
}

// Match reports whether t matches any pattern of f.
func (f Filter) Match(t string) bool {
	if len(f) == 0 {
		return !private(t)
	}
	for _, p := range f {
		if Match(p, t) {
			return true
		}
	}
	return false
}

// String returns the comma-separated form accepted by ParseFilter.
func (f Filter) String() string {
	if len(f) == 0 {
		return ">"
	}
	return strings.Join(f, ",")
}

// Covers reports whether every topic matched by pattern q is also matched
// by some pattern of f. It is used to check a requested filter against a
// key's scopes; it is exact for patterns of the forms this package accepts.
func (f Filter) Covers(q string) bool {
	if len(f) == 0 {
		return !private(q)
	}
	for _, p := range f {
		if covers(p, q) {
			return true
		}
	}
	return false
}

// covers reports whether pattern p matches a superset of pattern q.
func covers(p, q string) bool {
	ps, qs := strings.Split(p, "."), strings.Split(q, ".")
	if (ps[0] == "*" || ps[0] == ">") && qs[0] == PrivateNamespace {
		return false // the private namespace is read only by patterns that name it
	}
	for i, pt := range ps {
		if pt == ">" {
			return i < len(qs)
		}
		if i >= len(qs) {
			return false
		}
		qt := qs[i]
		switch {
		case qt == ">":
			return false
		case pt == "*":
		case pt != qt:
			return false
		}
	}
	return len(ps) == len(qs)
}
