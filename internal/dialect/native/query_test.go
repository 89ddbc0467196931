package native

import (
	"net/url"
	"reflect"
	"testing"
)

// FuzzQuery: a raw query parses to what URL.Query gives (each name's first
// value and count), and the reading endpoints' parameters come out the
// same either way.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{"topics=app.>&after=3&limit=10&wait=30s", "a=1&a=2&b", "a%zz=1&b=2", "a;b=1&c=3",
		"x=%41+%42&&=&y", "q=a+b", "after=earliest&wait=5", "topics=a%2Eb&limit=1001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		want, _ := url.ParseQuery(raw)
		got := parseQuery(raw, nil)
		if len(got) != len(want) {
			t.Fatalf("%q: %d names, URL.Query %d", raw, len(got), len(want))
		}
		for _, p := range got {
			vs := want[p.name]
			if len(vs) != p.n || vs[0] != p.value {
				t.Fatalf("%q: %q = %q ×%d, URL.Query %q", raw, p.name, p.value, p.n, vs)
			}
		}
		p1, err1 := parseReadQuery(raw)
		p2, err2 := parseReadParams(want)
		if (err1 == nil) != (err2 == nil) || (err1 == nil && !reflect.DeepEqual(p1, p2)) {
			t.Fatalf("%q: %+v, %v; from URL.Query %+v, %v", raw, p1, err1, p2, err2)
		}
	})
}
