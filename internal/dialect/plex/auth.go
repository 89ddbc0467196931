package plex

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/dialect"
)

// plexToken returns the X-Plex-Token a client presents: header first, then
// the query parameter (python-plexapi's WebSocket URL, browsers' EventSource).
func plexToken(r *http.Request) (string, error) {
	if t := r.Header.Get("X-Plex-Token"); t != "" {
		return t, nil
	}
	return r.URL.Query().Get("X-Plex-Token"), nil
}

// unauthorizedBody is what Plex Media Server answers to a missing or wrong
// token; clients only look at the status.
const unauthorizedBody = "<html><head><title>Unauthorized</title></head><body><h1>401 Unauthorized</h1></body></html>\n"

// guard admits Plex tokens (herald keys made for the Plex dialect) and
// admin keys. Everything else is 401 — also a valid key of another dialect,
// because to a Plex client it is not a token — and that answer comes before
// any upgrade, so WebSocket clients see it (plexwebsocket stops on 401).
func (a *API) guard() *dialect.Guard {
	return a.core.Guard(dialect.GuardSpec{
		Dialect:    Dialect,
		Credential: plexToken,
		Admit: func(_ *http.Request, k *auth.Key) error {
			if k.Dialect != Dialect && !k.Admin {
				return auth.ErrUnauthorized
			}
			return nil
		},
		Render: render,
	})
}

// render answers a problem the way Plex Media Server does: a status and a
// short text (an HTML page for 401); Plex clients read only the status.
func render(w http.ResponseWriter, _ *http.Request, p *dialect.Problem) {
	dialect.SetProblemHeaders(w, p)
	ct, body := "text/plain; charset=utf-8", dialect.ClientMessage(p)+"\n"
	switch p.Kind {
	case dialect.Unauthorized:
		ct, body = "text/html", unauthorizedBody
	case dialect.Unavailable:
		body = "service unavailable\n"
	case dialect.RateLimited:
		body = "too many requests\n"
	case dialect.TooManyStreams:
		body = "too many streams open for this token\n"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(p.Status())
	w.Write([]byte(body))
}

// decodeStrict decodes one JSON object, rejecting unknown fields (a typo in
// a simulation's parameters should not silently fall back to a default).
func decodeStrict(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value in the body")
	}
	return nil
}
