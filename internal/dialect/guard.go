package dialect

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/faults"
	"github.com/herald-io/herald/internal/reqlog"
)

// GuardSpec is what a dialect tells the request pipeline about itself: how
// its clients present a credential, which keys it admits and how its
// errors look. Everything in between is the same for every dialect and
// happens once, in Guard.Handle: authentication, the dialect check, the
// key's rate limit, the body limit, error classification, logging an
// internal error with the request id its client is shown, and the fault
// rules in effect for the dialect and key (see inject).
type GuardSpec struct {
	// Dialect names the API in logs and is the dialect a key must have
	// when Admit is nil ("" for herald's native keys).
	Dialect string
	// Credential returns the secret the request presents, or "" if it has
	// none. An error is a malformed credential: it is rendered as it is (a
	// Problem, or an error of the dialect's own that Render knows).
	Credential func(r *http.Request) (string, error)
	// Authenticate resolves a secret to a key (default: the key store's
	// Authenticate, for herald tokens).
	Authenticate func(ctx context.Context, secret string) (*auth.Key, error)
	// Admit decides whether a valid key may use this API; its error is
	// rendered. Nil admits the keys of Dialect.
	Admit func(r *http.Request, k *auth.Key) error
	// Render writes a problem in the vendor's shape and status.
	Render func(w http.ResponseWriter, r *http.Request, p *Problem)
	// MaxBody bounds a request's body.
	MaxBody int64
}

// Request is what the pipeline hands a handler: the authenticated key.
type Request struct {
	Key *auth.Key
}

// Handler serves a request that passed the guard. It returns an error
// instead of writing one; the guard classifies and renders it. A handler
// that has begun its answer (a stream) must return nil.
type Handler func(w http.ResponseWriter, r *http.Request, req *Request) error

// A Guard admits requests to one dialect's handlers.
type Guard struct {
	core *Core
	spec GuardSpec
	// faults are the rules its requests may suffer (nil: never, as for
	// the admin endpoints), under the dialect name rules use.
	faults       *faults.Store
	faultDialect string
}

// Guard returns the request pipeline for a dialect.
func (c *Core) Guard(spec GuardSpec) *Guard {
	if spec.Authenticate == nil {
		spec.Authenticate = c.Auth.Authenticate
	}
	if spec.Render == nil {
		spec.Render = RenderNative
	}
	g := &Guard{core: c, spec: spec, faults: c.Faults, faultDialect: spec.Dialect}
	if g.faultDialect == "" {
		g.faultDialect = "native"
	}
	return g
}

// Handle wraps h in the pipeline.
func (g *Guard) Handle(h Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, err := g.admit(r)
		if err != nil {
			g.Fail(w, r, err)
			return
		}
		reqlog.From(r.Context()).SetKey(key.ID, g.faultDialect)
		if rs := g.faults.Rules(); rs != nil && g.inject(w, r, rs, key) {
			return
		}
		if ok, retry := g.core.Auth.Allow(key); !ok {
			g.Fail(w, r, &Problem{Kind: RateLimited, Code: RateLimited.String(),
				Message: "too many requests for this key", RetryAfter: retry})
			return
		}
		if g.spec.MaxBody > 0 && r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, g.spec.MaxBody)
		}
		r = r.WithContext(WithKey(r.Context(), key)) // Append checks its scopes
		if err := h(w, r, &Request{Key: key}); err != nil {
			g.Fail(w, r, err)
		}
	})
}

// admit authenticates the request and checks that its key is for this API.
func (g *Guard) admit(r *http.Request) (*auth.Key, error) {
	if k := actingAs(r.Context()); k != nil {
		return k, g.forDialect(k)
	}
	secret, err := g.spec.Credential(r)
	if err != nil {
		if Classify(err).Kind == Unauthorized {
			g.authFailed(r, "", reasonMalformed)
		}
		return nil, err
	}
	if secret == "" {
		g.authFailed(r, "", reasonNoCredential)
		return nil, &Problem{Kind: Unauthorized, Code: Unauthorized.String(), Message: "a credential is required"}
	}
	key, err := g.spec.Authenticate(r.Context(), secret)
	if err != nil {
		if Classify(err).Kind == Unauthorized {
			g.authFailed(r, secret, reasonRejected)
		}
		return nil, err
	}
	if g.spec.Admit != nil {
		return key, g.spec.Admit(r, key)
	}
	return key, g.forDialect(key)
}

// forDialect says whether key is one of this API's.
func (g *Guard) forDialect(key *auth.Key) error {
	switch {
	case key.Dialect == g.spec.Dialect:
		return nil
	case key.Dialect != "":
		return Errorf(Forbidden, "this key is for the %s API", key.Dialect)
	}
	return Errorf(Forbidden, "this key is not for the %s API", g.spec.Dialect)
}

// Fail classifies err and renders it in the dialect's shape. An internal
// error is logged with a request id, and the client is shown only the id.
func (g *Guard) Fail(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil && errors.Is(err, context.Canceled) {
		return // the client went away: nobody to answer, nothing to log
	}
	p := Classify(err)
	switch p.Kind {
	case Internal:
		p.RequestID = requestID(r)
		g.core.Logger.Error("request failed", "dialect", g.spec.Dialect, "method", r.Method,
			"path", r.URL.Path, "request_id", p.RequestID, "err", err)
	case Unavailable:
		g.core.Logger.Warn("request unavailable", "dialect", g.spec.Dialect, "method", r.Method,
			"path", r.URL.Path, "err", err)
	}
	g.spec.Render(w, r, p)
}

// MethodNotAllowed answers, in the dialect's shape with an Allow header,
// the methods a path does not have (net/http's own answer is text/plain).
// allow maps each pattern path to its methods, e.g. "GET, POST".
func (g *Guard) MethodNotAllowed(mux *http.ServeMux, allow map[string]string) {
	for path, methods := range allow {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			g.spec.Render(w, r, &Problem{Kind: MethodNotAllowed, Code: MethodNotAllowed.String(), Allow: methods,
				Message: r.Method + " is not allowed here; use " + methods})
		})
	}
}

// NotFound answers every other path under prefix in the dialect's shape.
func (g *Guard) NotFound(mux *http.ServeMux, prefix string) {
	mux.HandleFunc(prefix, func(w http.ResponseWriter, r *http.Request) {
		g.spec.Render(w, r, &Problem{Kind: NotFound, Code: NotFound.String(), Message: "no such endpoint: " + r.URL.Path})
	})
}

// FailLater returns Fail for an answer given later, off r's handler (a
// parked poll's, see deliver.ServePoll). It keeps of r only what Fail
// needs — method, path, access-log entry — and builds that request only
// if it is called: a waiting poll keeps neither r's headers, URL and
// contexts alive, nor allocates what it most likely never uses.
func (g *Guard) FailLater(r *http.Request) func(w http.ResponseWriter, err error) {
	method, path, entry := r.Method, r.URL.Path, reqlog.From(r.Context())
	return func(w http.ResponseWriter, err error) {
		fr := &http.Request{Method: method, URL: &url.URL{Path: path}, Header: http.Header{}}
		g.Fail(w, fr.WithContext(reqlog.With(context.Background(), entry)), err)
	}
}

// requestID names one failed request in the log and in what its client
// is shown: the access log's id (also in the X-Request-Id header) when
// there is one.
func requestID(r *http.Request) string {
	if e := reqlog.From(r.Context()); e != nil {
		return e.ID
	}
	return reqlog.NewID()
}
