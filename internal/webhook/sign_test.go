package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/webhook"
)

// standardSign is the Standard Webhooks signature written from the
// specification, independently of the package: HMAC-SHA256, keyed with
// the base64 after "whsec_", of "<id>.<timestamp>.<body>", as "v1,<base64>".
func standardSign(t testing.TB, secret, id string, ts int64, body []byte) string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatalf("secret %q: %v", secret, err)
	}
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s.%d.%s", id, ts, body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// The specification's own example, and the independent algorithm, agree
// with Sign.
func TestSignMatchesTheSpecification(t *testing.T) {
	const (
		secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		id     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		ts     = 1614265330
		body   = `{"test": 2432232314}`
		want   = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	)
	key, err := webhook.ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	if got := webhook.Sign(key, id, ts, []byte(body)); got != want {
		t.Errorf("Sign = %s, want the specification's %s", got, want)
	}
	if got := standardSign(t, secret, id, ts, []byte(body)); got != want {
		t.Errorf("the test's own algorithm = %s, want %s", got, want)
	}
	other := webhook.NewSecret()
	okey, _ := webhook.ParseSecret(other)
	both := webhook.Signatures([][]byte{okey, key}, id, ts, []byte(body))
	if both != standardSign(t, other, id, ts, []byte(body))+" "+want {
		t.Errorf("two keys sign as %q", both)
	}
}

func TestVerify(t *testing.T) {
	secret := webhook.NewSecret()
	key, err := webhook.ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	body := []byte(`{"type":"x"}`)
	good := standardSign(t, secret, "m1", now.Unix(), body)
	other := standardSign(t, webhook.NewSecret(), "m1", now.Unix(), body)
	for _, tc := range []struct {
		name, id, ts, sigs string
		body               string
		ok                 bool
	}{
		{"good", "m1", "1700000000", good, string(body), true},
		{"among others", "m1", "1700000000", "v2,xyz " + other + " " + good, string(body), true},
		{"4 min old", "m1", "1699999760", standardSign(t, secret, "m1", 1699999760, body), string(body), true},
		{"6 min old", "m1", "1699999640", standardSign(t, secret, "m1", 1699999640, body), string(body), false},
		{"6 min ahead", "m1", "1700000360", standardSign(t, secret, "m1", 1700000360, body), string(body), false},
		{"other secret", "m1", "1700000000", other, string(body), false},
		{"body changed", "m1", "1700000000", good, `{"type":"y"}`, false},
		{"id changed", "m2", "1700000000", good, string(body), false},
		{"no signature", "m1", "1700000000", "", string(body), false},
		{"not a number", "m1", "soon", good, string(body), false},
	} {
		err := webhook.Verify(key, tc.id, tc.ts, tc.sigs, []byte(tc.body), now)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, webhook.ErrSignature)) {
			t.Errorf("%s: %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestParseSecret(t *testing.T) {
	for _, s := range []string{"", "whsec_", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_!!!", "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 8))} {
		if _, err := webhook.ParseSecret(s); !errors.Is(err, webhook.ErrInvalid) {
			t.Errorf("ParseSecret(%q) = %v, want ErrInvalid", s, err)
		}
	}
	if _, err := webhook.ParseSecret(webhook.NewSecret()); err != nil {
		t.Errorf("a new secret: %v", err)
	}
}

func FuzzVerify(f *testing.F) {
	key, _ := webhook.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	f.Add("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", []byte(`{"test": 2432232314}`))
	f.Fuzz(func(t *testing.T, id, ts, sigs string, body []byte) {
		err := webhook.Verify(key, id, ts, sigs, body, time.Unix(1614265330, 0))
		if err != nil {
			if !errors.Is(err, webhook.ErrSignature) {
				t.Fatalf("error %v does not wrap ErrSignature", err)
			}
			return
		}
		// A pass needs the signature of exactly these bytes at that time.
		n, perr := strconv.ParseInt(ts, 10, 64)
		if perr != nil || !slices.Contains(strings.Fields(sigs), webhook.Sign(key, id, n, body)) {
			t.Fatalf("verified %q %q %q", id, ts, sigs)
		}
	})
}
