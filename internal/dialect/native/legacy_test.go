package native

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/cursor"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
)

// Subscriptions stored by versions that kept one name space (native.<name>)
// are still their owner's, by name; to every other key they do not exist,
// and the same name is free for each of those keys.
func TestSubscriptionsStoredUnderBareNames(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	ctx := context.Background()
	owner, ownerToken, err := c.Auth.Create(ctx, auth.Spec{Name: "owner", Subscribe: []string{"app.>"}})
	if err != nil {
		t.Fatal(err)
	}
	other := c.Key(t, auth.Spec{Name: "other", Subscribe: []string{"app.>"}})
	admin := c.Key(t, auth.Spec{Name: "admin", Admin: true})
	if _, err := c.Cursors.Create(ctx, subscriptionNS+"billing", cursor.Spec{Owner: owner.ID}); err != nil {
		t.Fatal(err)
	}
	srv := c.Serve(t, New(c.Core).Mount)
	do := func(method, path, token, body string) int {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		method, path, token, body string
		status                    int
	}{
		{"GET", "/v1/subscriptions/billing", ownerToken, "", 200},
		{"GET", "/v1/subscriptions/billing/events", ownerToken, "", 200},
		{"POST", "/v1/subscriptions/billing/ack", ownerToken, `{"upto":0}`, 200},
		{"GET", "/v1/subscriptions/billing", other, "", 404},
		{"PUT", "/v1/subscriptions/billing", other, `{}`, 201},                // its own, not a conflict
		{"GET", "/v1/subscriptions/" + owner.ID + ".billing", admin, "", 404}, // not stored that way
		{"GET", "/v1/subscriptions/billing", admin, "", 200},                  // the one stored under the bare name
		{"DELETE", "/v1/subscriptions/billing", ownerToken, "", 204},
		{"GET", "/v1/subscriptions/billing", ownerToken, "", 404},
		{"GET", "/v1/subscriptions/billing", other, "", 200},
		{"PUT", "/v1/subscriptions/billing", ownerToken, `{}`, 201},
		{"GET", "/v1/subscriptions/billing", admin, "", 409}, // two keys have one: ambiguous
		{"GET", "/v1/subscriptions/" + owner.ID + ".billing", admin, "", 200},
	} {
		if got := do(tc.method, tc.path, tc.token, tc.body); got != tc.status {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, got, tc.status)
		}
	}
}
