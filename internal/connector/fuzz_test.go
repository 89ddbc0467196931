package connector_test

import (
	"strings"
	"testing"
)

// Whatever the body, POST /v1/connectors answers 201 or a 4xx in the native
// shape, and never 5xx.
func FuzzPostConnector(f *testing.F) {
	e := newEnv(f)
	for _, s := range []string{
		`{"name":"home","kind":"fake","url":"https://192.168.1.2","key":"k","insecure_tls":true}`,
		`{"name":"x","kind":"fake","url":"http://[::1]:80/a?b#c","key":"k","email":"a@b"}`,
		`{"name":1}`, `[]`, `null`, `{"name":"a","kind":"fake","url":"http://x","key":"\u0000"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := e.do(t, "POST", "/v1/connectors", e.admin, body)
		if r.status >= 500 || (r.status >= 300 && !strings.Contains(r.body, `"error"`)) {
			t.Fatalf("%q: %d %s", body, r.status, r.body)
		}
	})
}
