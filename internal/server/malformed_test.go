package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// badValues are what a malformed field, parameter or path segment holds:
// wrong types, numbers no integer or float holds, invalid UTF-8, syntax.
var badValues = []string{"", "-1", "1e999", "99999999999999999999999", "0.5", "true", "null", "[]", `{"a":1}`,
	"{", "\xff\xfe", "a\x00b", strings.Repeat("x", 5000)}

// badFields are what a JSON field holds instead of its value: other
// types, numbers out of every range, broken syntax, bad strings.
var badFields = []string{"-1", "1e999", "99999999999999999999999", "0.5", "true", "null", "[]", `{"a":1}`, "{",
	`""`, "\"\xff\xfe\"", `"a\u0000b"`, `"` + strings.Repeat("x", 5000) + `"`, `"-1"`, `"99999999999999999999999"`}

// badJSON are malformed and wrongly shaped JSON bodies.
var badJSON = []string{"{", "[", `{"a":`, "null", "[]", `"s"`, "123", "{}", `{"a":1}{}`, "\xff\xfe", `{"` + "\xff" + `":1}`,
	`[` + strings.Repeat(`{},`, 2000) + `{}]`, strings.Repeat("[", 10000) + strings.Repeat("]", 10000)}

// A malformed request to any route — bad JSON, fields of the wrong type,
// huge numbers, invalid UTF-8, bad query parameters and path segments,
// bad resume headers, a body over every limit, the wrong methods — never
// gets a 5xx, and its answer has its dialect's Content-Type: the one its
// well-formed request gets, or the dialect's errors'.
func TestMalformedRequests(t *testing.T) {
	e := newMatrixEnv(t)
	e.timeout = 3 * time.Second
	kinds := map[string]int{}
	for _, r := range routes {
		c := admitted(e, r)
		okCT := ""
		check := func(what, method, path string, hdr http.Header, body string) {
			t.Helper()
			kinds[strings.Fields(what)[0]]++
			st, h, b := e.send(c, method, path, hdr, body)
			ct := h.Get("Content-Type")
			switch {
			case st == 0:
				t.Errorf("%s %s (%s): no answer in %v", method, r.pattern, what, e.timeout)
			case st >= 500:
				t.Errorf("%s %s (%s): %d %.200q", method, r.pattern, what, st, b)
			case st < 300 && okCT == "":
				okCT = ct
			case st < 300 && ct != okCT && st != 204 && method != "HEAD" && method != "OPTIONS":
				t.Errorf("%s %s (%s): %d with Content-Type %q, the route's answers have %q", method, r.pattern, what, st, ct, okCT)
			case st >= 400 && !errorType(r.dialect, ct) && !(ct == "text/plain; charset=utf-8" && slices.Contains(knownPlain[r.pattern], st)):
				t.Errorf("%s %s (%s): %d with Content-Type %q, not the %s dialect's: %.200q", method, r.pattern, what, st, ct, r.dialect, b)
			}
		}
		path, body := e.expand(r.path, c), e.expand(r.body, c)
		check("well-formed", r.method, path, r.hdr, body)

		for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
			if m != r.method && !(m == "HEAD" && r.method == "GET") {
				check("wrong method", m, path, r.hdr, body)
			}
		}
		if r.slow {
			continue
		}
		for _, p := range queryVariants(path) {
			check("query "+clipped(p), r.method, p, r.hdr, body)
		}
		for _, p := range segmentVariants(r.pattern, path) {
			check("path "+clipped(p), r.method, p, r.hdr, body)
		}
		if r.method != "GET" { // a GET's body is not read
			for _, v := range bodyVariants(r, body) {
				check("body "+clipped(v.body), r.method, path, v.hdr, v.body)
			}
			continue
		}
		// What reads and streams take from headers: resume positions, the
		// media type, the page that opens a socket.
		for _, name := range []string{"Last-Event-ID", "If-None-Match", "Accept", "Origin"} {
			for _, v := range []string{"99999999999999999999999", "\xff", "1:-2:x"} {
				hdr := r.hdr.Clone()
				if hdr == nil {
					hdr = http.Header{}
				}
				hdr.Set(name, v)
				check(name+": "+v, r.method, path, hdr, body)
			}
		}
	}
	t.Logf("malformed requests to %d routes, by kind: %v", len(routes), kinds)
}

// knownPlain are the answers still in net/http's text/plain instead of
// their dialect's shape, by pattern and status (reported in issue 18): the
// WebSocket handshake's refusals, which internal/framing writes itself,
// and the other methods of Hue's v1 discovery routes, which nothing
// answers but the mux. Any other such answer fails.
var knownPlain = map[string][]int{
	"GET /v1/ws":            {403, 426},
	"GET /api/config":       {405},
	"GET /api/{key}/config": {405},
}

// admitted is a column the route admits, so its requests reach the parsers.
func admitted(e *matrixEnv, r route) cred {
	for _, c := range e.creds {
		if _, refused := r.except[c.name]; !refused && (r.guard == nil || r.guard(c) == 0) {
			return c
		}
	}
	panic("no column admits " + r.pattern)
}

// errorType reports whether ct is what the dialect's errors carry.
func errorType(dialect, ct string) bool {
	switch dialect {
	case "native", "hue", "zulip", "jetstream":
		return strings.HasPrefix(ct, ctJSON)
	case "plex":
		return ct == "text/plain; charset=utf-8" || ct == "text/html"
	case "console":
		return ct == "text/plain; charset=utf-8"
	}
	return false
}

type bodyVariant struct {
	hdr  http.Header
	body string
}

// bodyVariants are malformed versions of a row's body: for JSON, bad
// syntax and every field (at any depth) with each bad value; for a form, every parameter with each bad value; and a body over
// the limit of a route that takes one, and the body under other content
// types.
func bodyVariants(r route, body string) []bodyVariant {
	var out []bodyVariant
	withType := func(ct string) http.Header {
		h := r.hdr.Clone()
		if h == nil {
			h = http.Header{}
		}
		h.Set("Content-Type", ct)
		return h
	}
	isForm := r.hdr.Get("Content-Type") == formBody.Get("Content-Type")
	hdr := withType(jsonBody.Get("Content-Type"))
	if isForm {
		hdr = withType(formBody.Get("Content-Type"))
	}
	if !isForm {
		for _, b := range badJSON {
			out = append(out, bodyVariant{hdr, b})
		}
		var v any
		if json.Unmarshal([]byte(body), &v) == nil {
			for _, path := range jsonPaths(v, nil) {
				for _, bad := range badFields {
					out = append(out, bodyVariant{hdr, replaceAt(body, path, bad)})
				}
			}
		}
	} else {
		q, _ := url.ParseQuery(body)
		for name := range q {
			for _, bad := range badValues {
				v := cloneValues(q)
				v.Set(name, bad)
				out = append(out, bodyVariant{hdr, v.Encode()})
			}
		}
		out = append(out, bodyVariant{hdr, body + "&%zz=1"}, bodyVariant{hdr, body + "&" + body}, bodyVariant{hdr, "\xff=\xff"})
	}
	other := withType(formBody.Get("Content-Type"))
	if isForm {
		other = withType(jsonBody.Get("Content-Type"))
	}
	out = append(out, bodyVariant{other, body}, bodyVariant{withType("text/plain; charset=utf-8"), body})
	if body != "" { // a route that reads a body bounds it
		out = append(out, bodyVariant{hdr, strings.Repeat("x", 3<<20)})
	}
	return out
}

// jsonPaths lists the paths to every value in v.
func jsonPaths(v any, at []any) [][]any {
	var out [][]any
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			p := append(slices.Clone(at), k)
			out = append(append(out, p), jsonPaths(x, p)...)
		}
	case []any:
		for i, x := range v {
			p := append(slices.Clone(at), i)
			out = append(append(out, p), jsonPaths(x, p)...)
		}
	}
	return out
}

// replaceAt returns body with the value at path replaced by raw JSON text
// (which may be malformed on purpose).
func replaceAt(body string, path []any, raw string) string {
	const mark = "\x00mark\x00"
	var v any
	json.Unmarshal([]byte(body), &v)
	cur := v
	for i, k := range path {
		last := i == len(path)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				c[k.(string)] = mark
			}
			cur = c[k.(string)]
		case []any:
			if last {
				c[k.(int)] = mark
			}
			cur = c[k.(int)]
		}
	}
	b, _ := json.Marshal(v)
	return string(bytes.Replace(b, []byte(mustJSON(mark)), []byte(raw), 1))
}

func mustJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = slices.Clone(v)
	}
	return out
}

// queryVariants are the path with each query parameter given each bad
// value, with an unknown and a doubled parameter, and with bad escapes.
func queryVariants(path string) []string {
	p, query, _ := strings.Cut(path, "?")
	q, _ := url.ParseQuery(query)
	var out []string
	for name := range q {
		for _, bad := range badValues {
			v := cloneValues(q)
			v.Set(name, bad)
			out = append(out, p+"?"+v.Encode())
		}
		out = append(out, path+"&"+url.Values{name: q[name]}.Encode())
	}
	sep := "?"
	if query != "" {
		sep = "&"
	}
	for _, extra := range []string{"nope=1", "%zz=1", "a=%zz", "limit=-1&after=x&wait=1e999", "topics=%FF", "after=99999999999999999999999"} {
		out = append(out, path+sep+extra)
	}
	return out
}

// segmentVariants are the path with each segment a wildcard of the pattern
// matches replaced by each bad value.
func segmentVariants(pattern, path string) []string {
	_, pat, ok := strings.Cut(pattern, " ")
	if !ok {
		pat = pattern
	}
	p, query, _ := strings.Cut(path, "?")
	if query != "" {
		query = "?" + query
	}
	pp, ps := strings.Split(pat, "/"), strings.Split(p, "/")
	var out []string
	for i, seg := range pp {
		if !strings.HasPrefix(seg, "{") || seg == "{$}" || i >= len(ps) {
			continue
		}
		for _, bad := range append(badValues, "%FF", "%00", "..", "%2e%2e%2f") {
			if bad == "" {
				continue
			}
			s := slices.Clone(ps)
			s[i] = url.PathEscape(bad)
			if strings.HasPrefix(bad, "%") || bad == ".." {
				s[i] = bad
			}
			out = append(out, strings.Join(s, "/")+query)
		}
	}
	return out
}

// clipped shortens a variant for a failure message.
func clipped(s string) string {
	if len(s) > 60 {
		return fmt.Sprintf("%.60q…(%d bytes)", s, len(s))
	}
	return fmt.Sprintf("%q", s)
}
