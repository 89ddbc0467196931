package dialect

import (
	"context"
	"net/http"

	"github.com/coder/websocket"

	"github.com/herald-io/herald/internal/hub"
	"github.com/herald-io/herald/internal/stream"
)

// WSStream is what a dialect's WebSocket endpoint supplies to ServeWS.
type WSStream struct {
	Transport string      // metrics label, e.g. "websocket", "plex-websocket"
	Format    *hub.Format // one text frame per event, in this format
	Options   stream.WSOptions
	// Next waits for events: nil, nil means an idle interval passed (the
	// server pings). An error ends the stream.
	Next func(ctx context.Context) ([]*hub.Event, error)
	// Ended is called with the error that ended Next (not with shutdown or a
	// failed write) to say goodbye in the dialect's way, e.g. a reset frame
	// or a close code. Nil closes with StatusInternalError.
	Ended func(ctx context.Context, ws *stream.WS, err error)
}

// ServeWS upgrades the request and pumps events to it until the client
// leaves, a write fails, Next fails, or the server shuts down (then it closes
// with "going away"). Pings from the client are answered throughout.
func (c *Core) ServeWS(w http.ResponseWriter, r *http.Request, s WSStream) {
	if s.Options.WriteTimeout == 0 {
		s.Options.WriteTimeout = c.WriteTimeout
	}
	ws, wsctx, err := stream.AcceptWS(w, r, s.Options)
	if err != nil {
		return // the upgrade already answered
	}
	defer ws.CloseNow()
	ctx, cancel := context.WithCancel(wsctx)
	defer cancel()
	stop := context.AfterFunc(c.Shutdown, cancel)
	defer stop()
	gauge := c.Metrics.Subscribers.WithLabelValues(s.Transport)
	gauge.Inc()
	defer gauge.Dec()
	delivered := c.Metrics.EventsDelivered.WithLabelValues(s.Transport)
	for {
		evs, err := s.Next(ctx)
		switch {
		case c.Shutdown.Err() != nil:
			ws.Close(websocket.StatusGoingAway, "server shutting down")
			return
		case err != nil && ctx.Err() == nil:
			if s.Ended != nil {
				s.Ended(ctx, ws, err)
			} else {
				ws.Close(websocket.StatusInternalError, "stream failed")
			}
			return
		case err != nil:
			return // the client left
		case evs == nil:
			if ws.Ping(ctx) != nil {
				return
			}
			continue
		}
		for _, e := range evs {
			if err := ws.Write(ctx, e.Wire(s.Format)); err != nil {
				c.StreamCut(s.Transport, err)
				return
			}
		}
		delivered.Add(float64(len(evs)))
	}
}
