package deliver

import (
	"net/http"

	"github.com/herald-io/herald/internal/framing"
	"github.com/herald-io/herald/internal/reqlog"
)

// A stream clients would reconnect to in a loop if refused with an HTTP
// status (an EventSource retries after any error answer) is refused in its
// own protocol instead: opened, told why in one message, and closed.

// RefuseSSE opens an event stream only to send frame and end it.
func (e *Engine) RefuseSSE(w http.ResponseWriter, r *http.Request, opts framing.SSEOptions, frame []byte) {
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = e.writeTimeout
	}
	s, err := framing.DetachSSE(w, r, opts)
	if err != nil {
		return
	}
	logged := reqlog.From(r.Context()).Detach()
	s.Add(frame)
	s.Flush()
	s.Close()
	if logged != nil {
		logged(http.StatusOK, s.Sent())
	}
}

// RefuseWS completes a WebSocket handshake only to send frames (the last a
// close frame) and close: a close code is the protocol's own way to say
// why.
func (e *Engine) RefuseWS(w http.ResponseWriter, r *http.Request, opts framing.WSOptions, frames []byte) {
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = e.writeTimeout
	}
	out, _, err := framing.UpgradeWS(w, r, opts)
	if err != nil {
		return // the handshake was answered
	}
	logged := reqlog.From(r.Context()).Detach()
	out.WriteNow(frames, opts.WriteTimeout)
	out.Close()
	if logged != nil {
		logged(http.StatusSwitchingProtocols, out.Sent())
	}
}
