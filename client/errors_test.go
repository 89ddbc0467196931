package client_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/client"
	"github.com/herald-io/herald/internal/server"
)

func TestErrors(t *testing.T) {
	ts := startServer(t, server.Config{})
	ctx := testContext(t)
	admin := ts.adminClient()
	scoped := ts.keyClient(client.KeySpec{Name: "scoped", Publish: []string{"app.>"}, Subscribe: []string{"app.>"}})
	nobody := client.New(ts.URL(), "")
	wrong := client.New(ts.URL(), "0123456789abcdef.wrong")

	if _, err := admin.PutSubscription(ctx, "s", client.SubscriptionSpec{Start: client.StartEarliest}); err != nil {
		t.Fatal(err)
	}
	publish(t, admin, drafts("app.e", 0, 1)...)
	if _, err := admin.Fetch(ctx, "s", 10, 0); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		call       func() error
		status     int
		code       string
		sentinel   error
		notAlsoErr error // a sentinel the error must not match
	}{
		{"no key", func() error { _, err := nobody.Publish(ctx, drafts("app.x", 0, 1)...); return err },
			401, "unauthorized", client.ErrUnauthorized, client.ErrForbidden},
		{"wrong key", func() error { _, _, err := wrong.Poll(ctx, client.PollOptions{}); return err },
			401, "unauthorized", client.ErrUnauthorized, nil},
		{"publish out of scope", func() error { _, err := scoped.Publish(ctx, drafts("hue.x", 0, 1)...); return err },
			403, "forbidden", client.ErrForbidden, client.ErrUnauthorized},
		{"read out of scope", func() error {
			_, _, err := scoped.Poll(ctx, client.PollOptions{Topics: []string{"hue.>"}})
			return err
		}, 403, "forbidden", client.ErrForbidden, nil},
		{"keys need admin", func() error { _, err := scoped.ListKeys(ctx); return err },
			403, "forbidden", client.ErrForbidden, nil},
		{"bad topic", func() error {
			_, err := admin.Publish(ctx, client.Draft{Topic: "no spaces allowed", Type: "t"})
			return err
		}, 400, "bad_request", client.ErrBadRequest, nil},
		{"bad data", func() error {
			_, err := admin.Publish(ctx, client.Draft{Topic: "app.x", Data: []byte(`{`)})
			return err
		}, 0, "", nil, nil}, // json.Marshal refuses it before any request
		{"too many", func() error { _, err := admin.Publish(ctx, drafts("app.x", 0, client.MaxPublish+1)...); return err },
			400, "bad_request", client.ErrBadRequest, nil},
		{"body too large", func() error {
			big := `"` + strings.Repeat("x", 1<<20) + `"`
			_, err := admin.Publish(ctx, client.Draft{Topic: "app.x", Data: []byte(big)})
			return err
		}, 413, "too_large", client.ErrTooLarge, nil},
		{"no subscription", func() error { _, err := admin.GetSubscription(ctx, "nope"); return err },
			404, "not_found", client.ErrNotFound, nil},
		{"no key to revoke", func() error { return admin.RevokeKey(ctx, "0123456789abcdef") },
			404, "not_found", client.ErrNotFound, nil},
		{"stale batch", func() error { return admin.Ack(ctx, "s", "not-the-batch") },
			409, "batch_not_pending", client.ErrBatchNotPending, nil},
		{"expired subscription start", func() error {
			_, err := admin.PutSubscription(ctx, "t", client.SubscriptionSpec{Start: client.StartAt(0)})
			return err
		}, 400, "bad_request", client.ErrBadRequest, client.ErrPositionExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil {
				t.Fatal("no error")
			}
			if tt.sentinel == nil {
				var ae *client.APIError
				if errors.As(err, &ae) {
					t.Fatalf("got %v, want a local error", err)
				}
				return
			}
			var ae *client.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("%v (%T) is not an *APIError", err, err)
			}
			if ae.Status != tt.status || ae.Code != tt.code || ae.Message == "" {
				t.Errorf("got %d %q %q, want %d %q", ae.Status, ae.Code, ae.Message, tt.status, tt.code)
			}
			if !errors.Is(err, tt.sentinel) {
				t.Errorf("%v does not match %v", err, tt.sentinel)
			}
			if tt.notAlsoErr != nil && errors.Is(err, tt.notAlsoErr) {
				t.Errorf("%v also matches %v", err, tt.notAlsoErr)
			}
		})
	}
	if !errors.Is(&client.APIError{Status: http.StatusConflict, Code: "batch_not_pending"}, client.ErrConflict) {
		t.Error("batch_not_pending does not match ErrConflict")
	}
}

func TestRateLimited(t *testing.T) {
	ts := startServer(t, server.Config{})
	ctx := testContext(t)
	c := ts.keyClient(client.KeySpec{Name: "slow", Subscribe: []string{"app.>"}, Rate: 1})
	// The bucket's burst is the server's to choose; keep asking until it is
	// empty, with several requests in flight to get there quickly.
	const workers, maxRequests = 8, 20000
	errc := make(chan error, workers)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sent := make(chan struct{}, maxRequests)
	for range workers {
		go func() {
			for {
				select {
				case sent <- struct{}{}:
				default:
					errc <- nil
					return
				}
				_, _, err := c.Poll(rctx, client.PollOptions{Topics: []string{"app.>"}})
				if err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	var limited error
	for range workers {
		if err := <-errc; err != nil && limited == nil {
			limited = err
			cancel()
		}
	}
	var ae *client.APIError
	if !errors.Is(limited, client.ErrRateLimited) || !errors.As(limited, &ae) {
		t.Fatalf("after %d requests: %v, want ErrRateLimited", len(sent), limited)
	}
	if ae.Status != http.StatusTooManyRequests || ae.RetryAfter < time.Second || !ae.Temporary() {
		t.Fatalf("got %+v, want 429 with Retry-After ≥ 1s", ae)
	}
	t.Logf("rate limited after %d requests at 1 request/s", len(sent))
}

// An *APIError reads as the server's message with its status and code in
// parentheses, and no prefix: the caller says what failed ("publish: …").
func TestAPIErrorText(t *testing.T) {
	for _, tt := range []struct {
		err  *client.APIError
		want string
	}{
		{&client.APIError{Status: 400, Code: "bad_request", Message: `topic "a b" is not valid`}, `topic "a b" is not valid (400 bad_request)`},
		{&client.APIError{Status: 404, Code: "not_found"}, "not found (404 not_found)"},
		{&client.APIError{Status: 502, Message: "<html>bad gateway</html>"}, "<html>bad gateway</html> (502)"},
		{&client.APIError{Status: 503}, "service unavailable (503)"},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.err, got, tt.want)
		}
	}
}

// A server that is not there is a transport error that names the request,
// without the package's prefix (a caller's message starts with its own).
func TestTransportErrorText(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	_, err = client.New(url, "k").Publish(testContext(t), client.Draft{Topic: "app.x"})
	if err == nil || strings.HasPrefix(err.Error(), "herald: ") || !strings.Contains(err.Error(), "/v1/events") {
		t.Errorf("publish to a stopped server: %v; want the request named, no \"herald: \" prefix", err)
	}
}
