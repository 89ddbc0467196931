package topic

import "strings"

// Overlaps reports whether some topic matches both pattern q and f: a
// stream reading f may deliver events that q names. It is exact for
// patterns of the forms this package accepts, the private namespace
// included (a wildcard first token never reaches it).
func (f Filter) Overlaps(q string) bool {
	if len(f) == 0 {
		return !namesPrivate(q)
	}
	for _, p := range f {
		if overlaps(p, q) {
			return true
		}
	}
	return false
}

// namesPrivate reports whether every topic pattern q matches is in the
// private namespace.
func namesPrivate(q string) bool {
	first, _, _ := strings.Cut(q, ".")
	return first == PrivateNamespace
}

// overlaps reports whether some topic matches both patterns.
func overlaps(p, q string) bool {
	ps, qs := strings.Split(p, "."), strings.Split(q, ".")
	wildP, wildQ := ps[0] == "*" || ps[0] == ">", qs[0] == "*" || qs[0] == ">"
	if (wildP && qs[0] == PrivateNamespace) || (wildQ && ps[0] == PrivateNamespace) {
		return false // the private namespace is matched only by patterns that name it
	}
	for i := 0; ; i++ {
		if i == len(ps) || i == len(qs) {
			return len(ps) == len(qs)
		}
		a, b := ps[i], qs[i]
		switch {
		case a == ">" || b == ">":
			return true // both have a token here, and ">" takes whatever the other wants after it
		case a != "*" && b != "*" && a != b:
			return false
		}
	}
}
