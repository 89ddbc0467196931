package native

import (
	"net/url"
	"strings"
)

// maxQueryParams is url.ParseQuery's limit: past it, net/url takes the
// query for none.
const maxQueryParams = 10000

// queryParam is one distinct name of a query and its first value; n is how
// many times the name was given.
type queryParam struct {
	name, value string
	n           int
}

// query is a request's query parameters by name, in their order. The
// reading endpoints are asked on every delivery of a long-poll, and
// URL.Query's map was a tenth of the bytes each poll allocated.
type query []queryParam

// parseQuery parses a raw query as URL.Query does, pairs that do not
// decode (a bad escape, a semicolon) left out, into dst's room.
func parseQuery(raw string, dst query) query {
	if strings.Count(raw, "&")+1 > maxQueryParams {
		return dst
	}
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		var ok bool
		if name, ok = unescape(name); !ok {
			continue
		}
		if value, ok = unescape(value); !ok {
			continue
		}
		dst = dst.add(name, value, 1)
	}
	return dst
}

// valuesQuery is q as a query.
func valuesQuery(q url.Values) query {
	ps := make(query, 0, len(q))
	for name, vs := range q {
		if len(vs) > 0 {
			ps = ps.add(name, vs[0], len(vs))
		}
	}
	return ps
}

func (q query) add(name, value string, n int) query {
	for i := range q {
		if q[i].name == name {
			q[i].n += n
			return q
		}
	}
	return append(q, queryParam{name: name, value: value, n: n})
}

// get returns name's first value and whether it was given.
func (q query) get(name string) (string, bool) {
	for _, p := range q {
		if p.name == name {
			return p.value, true
		}
	}
	return "", false
}

func unescape(s string) (string, bool) {
	if !strings.ContainsAny(s, "%+") {
		return s, true
	}
	s, err := url.QueryUnescape(s)
	return s, err == nil
}
