package plex

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/herald-io/herald/internal/auth"
)

// plexToken returns the X-Plex-Token a client presents: header first, then
// the query parameter (python-plexapi's WebSocket URL, browsers' EventSource).
func plexToken(r *http.Request) string {
	if t := r.Header.Get("X-Plex-Token"); t != "" {
		return t
	}
	return r.URL.Query().Get("X-Plex-Token")
}

// unauthorizedBody is what Plex Media Server answers to a missing or wrong
// token; clients only look at the status.
const unauthorizedBody = "<html><head><title>Unauthorized</title></head><body><h1>401 Unauthorized</h1></body></html>\n"

// plexAuth admits Plex tokens (herald keys made for the Plex dialect) and
// admin keys. Everything else is 401 — also a valid key of another dialect,
// because to a Plex client it is not a token — and that answer comes before
// any upgrade, so WebSocket clients see it (plexwebsocket stops on 401).
func (a *API) plexAuth(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := plexToken(r)
		if token == "" {
			writePlexStatus(w, http.StatusUnauthorized, unauthorizedBody)
			return
		}
		key, err := a.core.Auth.Authenticate(r.Context(), token)
		if err != nil {
			if errors.Is(err, auth.ErrUnauthorized) {
				writePlexStatus(w, http.StatusUnauthorized, unauthorizedBody)
				return
			}
			a.core.Logger.Warn("plex: authenticate", "err", err)
			w.Header().Set("Retry-After", "1")
			writePlexStatus(w, http.StatusServiceUnavailable, "service unavailable\n")
			return
		}
		if key.Dialect != Dialect && !key.Admin {
			writePlexStatus(w, http.StatusUnauthorized, unauthorizedBody)
			return
		}
		if !a.allow(w, key) {
			writePlexStatus(w, http.StatusTooManyRequests, "too many requests\n")
			return
		}
		h(w, r, key)
	})
}

// allow takes one request from the key's rate limit, setting Retry-After
// when it is spent.
func (a *API) allow(w http.ResponseWriter, key *auth.Key) bool {
	ok, retry := a.core.Auth.Allow(key)
	if !ok {
		w.Header().Set("Retry-After", strconv.FormatInt(int64(retry/time.Second), 10))
	}
	return ok
}

func writePlexStatus(w http.ResponseWriter, status int, body string) {
	ct := "text/plain; charset=utf-8"
	if status == http.StatusUnauthorized {
		ct = "text/html"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	w.Write([]byte(body))
}

// adminAuth guards the /v1/plex/… admin endpoints: a native admin key as
// "Authorization: Bearer", with errors in the native API's JSON shape.
func (a *API) adminAuth(h handler) http.Handler {
	return a.core.AdminOnly(maxAdminBody, h)
}

// errorBody is the native API's error shape, used by the admin endpoints.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var b errorBody
	b.Error.Code, b.Error.Message = code, msg
	writeJSON(w, status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":{"code":"internal","message":"encoding failed"}}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
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
