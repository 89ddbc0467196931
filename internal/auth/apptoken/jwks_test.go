package apptoken

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

// jwksServer serves a JSON Web Key Set that a test changes, and counts
// the fetches.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	keys    []json.RawMessage
	down    bool
	fetches atomic.Int64
}

func newJWKSServer(t *testing.T) *jwksServer {
	s := &jwksServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"keys": s.keys})
	}))
	t.Cleanup(s.Close)
	return s
}

// set replaces the set's keys: public keys by kid, or raw JWKs.
func (s *jwksServer) set(t *testing.T, keys map[string]any, raw ...string) {
	t.Helper()
	var out []json.RawMessage
	for kid, k := range keys {
		j, err := jwkset.NewJWKFromKey(k, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: kid}})
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(j.Marshal())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	for _, r := range raw {
		out = append(out, json.RawMessage(r))
	}
	s.mu.Lock()
	s.keys, s.down = out, false
	s.mu.Unlock()
}

func (s *jwksServer) setDown() {
	s.mu.Lock()
	s.down = true
	s.mu.Unlock()
}

func TestJWKS(t *testing.T) {
	ks := keys()
	srv := newJWKSServer(t)
	srv.set(t, map[string]any{"r1": &ks.rsa.PublicKey, "e1": &ks.ec.PublicKey, "d1": ks.ed.Public()},
		`{"kty":"oct","kid":"sym","k":"`+base64.RawURLEncoding.EncodeToString([]byte(secret))+`"}`)
	v, clock := verifier(t, Config{JWKSURL: srv.URL, JWKSRefresh: time.Hour})
	ctx := context.Background()
	ok := func(name, tok string) {
		t.Helper()
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	refused := func(name, tok string) {
		t.Helper()
		if k, err := v.Verify(ctx, tok); !errors.Is(err, ErrInvalid) {
			t.Fatalf("%s: got %+v, %v", name, k, err)
		}
	}
	ok("RS256 by kid", sign(t, jwt.SigningMethodRS256, ks.rsa, valid(), "r1"))
	ok("ES256 by kid", sign(t, jwt.SigningMethodES256, ks.ec, valid(), "e1"))
	ok("EdDSA by kid", sign(t, jwt.SigningMethodEdDSA, ks.ed, valid(), "d1"))
	ok("ES256 without kid", sign(t, jwt.SigningMethodES256, ks.ec, valid(), ""))
	refused("HS256 with the set's symmetric key", sign(t, jwt.SigningMethodHS256, []byte(secret), valid(), "sym"))
	refused("RS256 naming the EC key", sign(t, jwt.SigningMethodRS256, ks.rsa, valid(), "e1"))
	refused("RS256 by a key not in the set", sign(t, jwt.SigningMethodRS256, ks.rsa2, valid(), "r1"))
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches; want the one at start", n)
	}

	// The application starts signing with a new key: the first token
	// naming it fetches the set again.
	srv.set(t, map[string]any{"r1": &ks.rsa.PublicKey, "r2": &ks.rsa2.PublicKey})
	ok("a new kid", sign(t, jwt.SigningMethodRS256, ks.rsa2, valid(), "r2"))
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches; want 2", n)
	}
	// Made-up kids: no more fetches until UnknownKIDRefresh has passed,
	// and then one.
	for range 20 {
		refused("a made-up kid", sign(t, jwt.SigningMethodRS256, ks.rsa, valid(), "made-up"))
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches after a flood of unknown kids; want still 2", n)
	}
	clock.Advance(UnknownKIDRefresh)
	for range 20 {
		refused("a made-up kid", sign(t, jwt.SigningMethodRS256, ks.rsa, valid(), "made-up"))
	}
	if n := srv.fetches.Load(); n != 3 {
		t.Fatalf("%d fetches; want 3", n)
	}
	// The refresh replaced the set: e1 was removed from it.
	refused("a removed key", sign(t, jwt.SigningMethodES256, ks.ec, valid(), "e1"))
}

func TestJWKSEncryptionKeyNeverVerifies(t *testing.T) {
	ks := keys()
	srv := newJWKSServer(t)
	j, err := jwkset.NewJWKFromKey(&ks.ec.PublicKey, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: "enc", USE: jwkset.UseEnc}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(j.Marshal())
	srv.set(t, nil, string(b))
	v, _ := verifier(t, Config{JWKSURL: srv.URL, JWKSRefresh: time.Hour})
	for _, kid := range []string{"enc", ""} {
		if _, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodES256, ks.ec, valid(), kid)); !errors.Is(err, ErrInvalid) {
			t.Fatalf("kid %q: %v", kid, err)
		}
	}
}

// TestJWKSDownAtStart: herald starts without the set, and takes it when
// it can be read.
func TestJWKSDownAtStart(t *testing.T) {
	ks := keys()
	srv := newJWKSServer(t)
	srv.setDown()
	v, clock := verifier(t, Config{JWKSURL: srv.URL, JWKSRefresh: time.Hour})
	tok := sign(t, jwt.SigningMethodRS256, ks.rsa, valid(), "r1")
	if _, err := v.Verify(context.Background(), tok); !errors.Is(err, ErrInvalid) {
		t.Fatalf("without a set: %v", err)
	}
	srv.set(t, map[string]any{"r1": &ks.rsa.PublicKey})
	clock.Advance(UnknownKIDRefresh)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
}

// TestJWKSRefreshedInTheBackground: a key removed from the set stops
// working after the next refresh, without any token asking.
func TestJWKSRefreshedInTheBackground(t *testing.T) {
	ks := keys()
	srv := newJWKSServer(t)
	srv.set(t, map[string]any{"r1": &ks.rsa.PublicKey})
	v, _ := verifier(t, Config{JWKSURL: srv.URL, JWKSRefresh: 10 * time.Millisecond})
	tok := sign(t, jwt.SigningMethodRS256, ks.rsa, valid(), "")
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	srv.set(t, map[string]any{"r2": &ks.rsa2.PublicKey})
	before := srv.fetches.Load()
	for srv.fetches.Load() < before+2 { // one whole refresh after the change
		time.Sleep(time.Millisecond)
	}
	if _, err := v.Verify(context.Background(), tok); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a removed key still verifies: %v", err)
	}
}

func TestJWKSBodyBounded(t *testing.T) {
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"keys":[`))
		pad := make([]byte, 64<<10)
		for i := range pad {
			pad[i] = ' '
		}
		for range 2 * jwksMaxBody / len(pad) {
			if _, err := w.Write(pad); err != nil {
				return
			}
		}
	}))
	defer big.Close()
	rt := limitBody{}
	req, _ := http.NewRequest("GET", big.URL, nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v any
	err = json.NewDecoder(resp.Body).Decode(&v)
	var tooBig *http.MaxBytesError
	if !errors.As(err, &tooBig) {
		t.Fatalf("decoding an endless set: %v", err)
	}
}
