package dialect

import (
	"net/http"

	"github.com/herald-io/herald/internal/framing"
)

// RefuseWS completes a WebSocket handshake only to send frames (ending with
// a close) at once: a client told "no" by an HTTP status before the
// upgrade would reconnect in a loop, while a close code is its protocol's
// own way to say why.
func (c *Core) RefuseWS(w http.ResponseWriter, r *http.Request, opts framing.WSOptions, frames []byte) {
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = c.WriteTimeout
	}
	out, _, err := framing.UpgradeWS(w, r, opts)
	if err != nil {
		return // the handshake was answered
	}
	out.WriteNow(frames, opts.WriteTimeout)
	out.Close()
}
