package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"

	"github.com/herald-io/herald/internal/webhook"
)

// 1,000 events to ten endpoints, one of them down: the nine others get
// every event, the ordered ones in log order.
func TestOneEndpointDownLeavesTheOthers(t *testing.T) {
	const events = 1000
	e := newEnv(t, webhook.Config{})
	down := newReceiver(t, nil)
	down.srv.Close() // refused connections
	e.create(t, `{"url":"`+down.srv.URL+`","topics":["app.>"],"ordered":true}`)
	var rcs []*receiver
	for i := range 9 {
		rc := newReceiver(t, nil)
		rcs = append(rcs, rc)
		e.create(t, fmt.Sprintf(`{"url":%q,"topics":["app.>"],"ordered":%v}`, rc.srv.URL, i%2 == 0))
	}
	seqs := e.publish(t, "app.load", events)
	for i, rc := range rcs {
		waitFor(t, fmt.Sprintf("receiver %d", i), func() bool { return len(rc.got()) >= events })
		seen := map[uint64]bool{}
		var prev uint64
		for _, g := range rc.got() {
			if i%2 == 0 && g.ev.Seq <= prev {
				t.Fatalf("ordered receiver %d: %d after %d", i, g.ev.Seq, prev)
			}
			prev = g.ev.Seq
			seen[g.ev.Seq] = true
		}
		for _, s := range seqs {
			if !seen[s] {
				t.Fatalf("receiver %d never got %d", i, s)
			}
		}
	}
}

// Endpoints on loopback, private and other non-public addresses are
// refused when made, unless the operator allows them; and names are
// checked when dialled, on the address they resolve to.
func TestAddressPolicy(t *testing.T) {
	e := newEnv(t, webhook.Config{Policy: webhook.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")}}})
	for _, u := range []string{"http://127.0.0.1:9/", "http://[::1]/", "https://10.0.0.1/", "http://169.254.169.254/latest",
		"http://localhost:8080/", "http://0.0.0.0/", "http://[fe80::1]/", "http://100.64.0.1/", "http://[::ffff:127.0.0.1]/",
		"ftp://example.org/", "http://user:pw@example.org/"} {
		s, _ := webhook.ParseSpec([]byte(`{"url":"` + u + `","topics":["app.>"]}`))
		var fe *webhook.FieldError
		if _, err := e.svc.Create(context.Background(), e.admin, s); !errors.As(err, &fe) || fe.Field != "url" {
			t.Errorf("%s: %v, want a url error", u, err)
		}
	}
	for _, u := range []string{"https://example.org/hook", "http://10.9.1.2:8080/", "https://203.0.113.7/"} {
		s, _ := webhook.ParseSpec([]byte(`{"url":"` + u + `","topics":["app.>"]}`))
		if _, err := e.svc.Create(context.Background(), e.admin, s); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	strict := &webhook.Policy{}
	if c, err := strict.Dialer().DialContext(context.Background(), "tcp", "localhost:"+port); !errors.Is(err, webhook.ErrRefusedAddress) {
		if c != nil {
			c.Close()
		}
		t.Fatalf("dialling localhost: %v, want ErrRefusedAddress", err)
	}
	open := &webhook.Policy{AllowPrivate: true}
	c, err := open.Dialer().DialContext(context.Background(), "tcp", "localhost:"+port)
	if err != nil {
		t.Fatalf("allowed: %v", err)
	}
	c.Close()
}
