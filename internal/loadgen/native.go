package loadgen

import (
	"context"
	"net"
	"net/url"
)

// nativeMode is herald's own API: subscribers on SSE (/v1/stream),
// WebSocket (/v1/ws) or long-poll (/v1/events), publishers on POST
// /v1/events, all with the run's key.
type nativeMode struct {
	*env
	transport string
}

func (m *nativeMode) prepare(context.Context, int, int) error { return nil }
func (m *nativeMode) cleanup(context.Context) error           { return nil }

func (m *nativeMode) subscribe(ctx context.Context, _ int, local net.Addr) (receiver, error) {
	topics := "topics=" + url.QueryEscape(m.cfg.Topic)
	auth := "Authorization: Bearer " + m.cfg.Key + "\r\n"
	switch m.transport {
	case ModeWS:
		return dialWS(ctx, m.reactors, m.url("/v1/ws", topics), local, auth)
	case ModePoll:
		return dialNativePoll(ctx, m.env, local)
	}
	return dialSSE(ctx, m.reactors, m.url("/v1/stream", topics), local, auth)
}

func (m *nativeMode) publisher(int) pubTemplate { return nativePublish(m.env, m.cfg.Topic) }
