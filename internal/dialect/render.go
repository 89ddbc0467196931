package dialect

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/herald-io/herald/internal/auth"
)

// WriteJSON answers status with v as JSON. HTML is not escaped: these are
// API answers, not pages, and messages quote things like <key>. A
// Content-Type the caller set is kept (a vendor's charset parameter).
func WriteJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only a bug in the caller's types gets here; say nothing of it.
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":{"code":"internal","message":"internal error"}}` + "\n")
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// SetProblemHeaders sets the headers every dialect sends with a problem:
// Retry-After when waiting helps, Allow with a 405.
func SetProblemHeaders(w http.ResponseWriter, p *Problem) {
	switch p.Kind {
	case RateLimited, TooManyStreams, Unavailable:
		w.Header().Set("Retry-After", p.RetryAfterSeconds())
	case MethodNotAllowed:
		w.Header().Set("Allow", p.Allow)
	}
}

// ClientMessage is what a client may read of p: its message, or for an
// internal error only the request id to quote.
func ClientMessage(p *Problem) string {
	if p.Kind == Internal {
		if p.RequestID != "" {
			return "internal error (request " + p.RequestID + ")"
		}
		return "internal error"
	}
	return p.Message
}

// nativeError is herald's own error body: {"error":{"code","message",…}}.
type nativeError struct {
	Error nativeDetail `json:"error"`
}

type nativeDetail struct {
	Code      string  `json:"code"`
	Message   string  `json:"message"`
	Earliest  uint64  `json:"earliest,omitempty"`
	Last      *uint64 `json:"last,omitempty"`
	RequestID string  `json:"request_id,omitempty"`
}

// RenderNative writes p in herald's native shape: the native API's and
// every dialect's admin endpoints (/v1/<dialect>/…), which herald's CLI
// reads.
func RenderNative(w http.ResponseWriter, r *http.Request, p *Problem) {
	SetProblemHeaders(w, p)
	if p.Kind == Unauthorized {
		if errors.Is(p.Err, auth.ErrUnauthorized) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="herald", error="invalid_token"`)
		} else {
			w.Header().Set("WWW-Authenticate", `Bearer realm="herald"`)
		}
	}
	d := nativeDetail{Code: p.Code, Message: ClientMessage(p), RequestID: p.RequestID}
	if d.Code == "" {
		d.Code = p.Kind.String()
	}
	switch p.Kind {
	case Gone:
		d.Earliest = p.Earliest
	case PositionAhead:
		d.Last = &p.Last
	}
	WriteJSON(w, p.Status(), nativeError{d})
}
