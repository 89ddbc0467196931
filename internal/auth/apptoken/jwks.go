package apptoken

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// Bounds of a JWKS fetch.
const (
	jwksTimeout = 10 * time.Second
	jwksMaxBody = 1 << 20
)

// jwks is a JSON Web Key Set fetched from a URL. The set lives in a
// jwkset storage that its library's goroutine refreshes every interval
// until the context given to newJWKS ends (Verifier.Close); lookups only
// read it. A token naming a key id the set lacks refreshes it at once,
// through a second client over the same storage, when lim allows: at most
// once per UnknownKIDRefresh, and without waiting (a token refused while
// the limit holds is refused at once, not delayed).
type jwks struct {
	known      keyfunc.Keyfunc // reads the stored set
	refreshing keyfunc.Keyfunc // fetches it again for a key id it lacks
	lim        *rate.Limiter
	now        func() time.Time
}

func newJWKS(ctx context.Context, c Config) (*jwks, error) {
	u, err := url.Parse(c.JWKSURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("app tokens: JWKS URL %q: want an http or https URL", c.JWKSURL)
	}
	client := c.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: jwksTimeout}
	}
	bounded := *client
	bounded.Transport = limitBody{rt: client.Transport}
	every := c.JWKSRefresh
	if every <= 0 {
		every = DefaultJWKSRefresh
	}
	log := c.Logger
	store, err := jwkset.NewStorageFromHTTP(c.JWKSURL, jwkset.HTTPClientStorageOptions{
		Client:                    &bounded,
		Ctx:                       ctx,
		HTTPTimeout:               jwksTimeout,
		NoErrorReturnFirstHTTPReq: true, // herald starts; its own keys work meanwhile
		RefreshErrorHandler: func(_ context.Context, err error) {
			log.Error("app tokens: fetching the JWKS failed; keeping the keys it had", "url", c.JWKSURL, "err", err)
		},
		RefreshInterval: every,
	})
	if err != nil {
		return nil, fmt.Errorf("app tokens: JWKS: %w", err)
	}
	refreshing, err := jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
		HTTPURLs:          map[string]jwkset.Storage{c.JWKSURL: store},
		RefreshUnknownKID: rate.NewLimiter(rate.Inf, 1), // j.lim decides, without waiting
	})
	if err != nil {
		return nil, fmt.Errorf("app tokens: JWKS: %w", err)
	}
	// A key marked for encryption never verifies a signature; one with no
	// "use" may.
	use := []jwkset.USE{jwkset.UseSig, ""}
	j := &jwks{lim: rate.NewLimiter(rate.Every(UnknownKIDRefresh), 1), now: c.Now}
	if j.known, err = keyfunc.New(keyfunc.Options{Ctx: ctx, Storage: store, UseWhitelist: use}); err != nil {
		return nil, fmt.Errorf("app tokens: JWKS: %w", err)
	}
	if j.refreshing, err = keyfunc.New(keyfunc.Options{Ctx: ctx, Storage: refreshing, UseWhitelist: use}); err != nil {
		return nil, fmt.Errorf("app tokens: JWKS: %w", err)
	}
	return j, nil
}

// key returns the set's key for t (by its "kid", or every key of t's
// algorithm without one), only if it is a public key of t's algorithm: a
// symmetric key in a set is never used.
func (j *jwks) key(ctx context.Context, t *jwt.Token) (any, error) {
	k, err := j.known.KeyfuncCtx(ctx)(t)
	if errors.Is(err, jwkset.ErrKeyNotFound) && j.lim.AllowN(j.now(), 1) {
		k, err = j.refreshing.KeyfuncCtx(ctx)(t)
	}
	if err != nil {
		return nil, err
	}
	alg := t.Method.Alg()
	if set, ok := k.(jwt.VerificationKeySet); ok {
		var keep jwt.VerificationKeySet
		for _, k := range set.Keys {
			if a, err := algFor(k); err == nil && a == alg {
				keep.Keys = append(keep.Keys, k)
			}
		}
		return keep, nil
	}
	a, err := algFor(k)
	if err != nil {
		return nil, fmt.Errorf("JWKS key %v: %w", t.Header["kid"], err)
	}
	if a != alg {
		return nil, fmt.Errorf("JWKS key %v is for %s, the token is signed with %s", t.Header["kid"], a, alg)
	}
	return k, nil
}

// limitBody bounds what a JWKS fetch reads.
type limitBody struct{ rt http.RoundTripper }

func (l limitBody) RoundTrip(r *http.Request) (*http.Response, error) {
	rt := l.rt
	if rt == nil {
		rt = http.DefaultTransport
	}
	resp, err := rt.RoundTrip(r)
	if err == nil {
		resp.Body = http.MaxBytesReader(nil, resp.Body, jwksMaxBody)
	}
	return resp, err
}
