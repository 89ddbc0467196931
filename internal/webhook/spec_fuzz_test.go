package webhook

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/topic"
)

// Whatever a client sends, a spec either is refused naming a field, or
// makes an endpoint herald can run: an http(s) URL whose literal address
// the policy allows, valid topic patterns, no header herald sets itself,
// a secret that signs.
func FuzzSpec(f *testing.F) {
	f.Add([]byte(`{"url":"https://example.org/hook","topics":["app.>"],"secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}`))
	f.Add([]byte(`{"url":"http://10.0.0.1","topics":["a.*"],"headers":{"X":"y"},"rate":2.5,"ordered":true,"types":["t"]}`))
	f.Add([]byte(`{"url":"http://[::1]:80/","topics":["a"],"headers":{"Webhook-Id":"1"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := ParseSpec(body)
		var fe *FieldError
		if err != nil {
			if !errors.As(err, &fe) {
				t.Fatalf("%q: %v is not a FieldError", body, err)
			}
			return
		}
		var r record
		now := time.Unix(1_700_000_000, 0)
		if _, err := s.apply(&r, &Policy{}, now); err != nil {
			if !errors.As(err, &fe) {
				t.Fatalf("%q: %v is not a FieldError", body, err)
			}
			return
		}
		u, err := url.Parse(r.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || (&Policy{}).CheckHost(u.Hostname()) != nil {
			t.Fatalf("%q: url %q accepted", body, r.URL)
		}
		for _, p := range r.Topics {
			if topic.ValidatePattern(p) != nil {
				t.Fatalf("%q: topic %q accepted", body, p)
			}
		}
		for k := range r.Headers {
			if slices.Contains(reserved, http.CanonicalHeaderKey(k)) {
				t.Fatalf("%q: header %q accepted", body, k)
			}
		}
		if len(r.keys(now)) != 1 {
			t.Fatalf("%q: %d signing keys", body, len(r.keys(now)))
		}
	})
}
