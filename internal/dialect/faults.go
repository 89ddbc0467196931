package dialect

import (
	"net/http"
	"time"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/faults"
)

// FaultHeader names, on an answer a fault rule made, the rule that made
// it: a client developer reading a capture sees the fault was on purpose.
const FaultHeader = "Herald-Fault"

// inject applies the fault rules to a request whose key is known: it holds
// the request for a delay rule (as long as the client waits), then answers
// for a status, restart or reject_key rule in the dialect's own shape, or
// paces its body for a slow_read rule. It reports whether the request is
// over.
func (g *Guard) inject(w http.ResponseWriter, r *http.Request, rs *faults.Rules, key *auth.Key) bool {
	f, ok := rs.Request(g.faultDialect, key.ID)
	if !ok {
		return false
	}
	if f.Delay > 0 {
		g.injected(faults.Delay)
		w.Header().Set(FaultHeader, f.DelayRule)
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-g.core.Shutdown.Done(): // serve it now rather than hold up the shutdown
			t.Stop()
		case <-r.Context().Done():
			t.Stop()
			return true // the client left: nobody to answer
		}
	}
	if f.Rate > 0 && r.Body != nil && r.Body != http.NoBody {
		g.injected(faults.SlowRead)
		w.Header().Set(FaultHeader, f.RateRule)
		r.Body = faults.NewPacer(r.Context(), f.Rate).Reader(r.Body)
	}
	switch f.Action {
	case faults.RejectKey:
		g.injected(faults.RejectKey)
		w.Header().Set(FaultHeader, f.Rule)
		g.Fail(w, r, auth.ErrUnauthorized) // exactly what a wrong key gets
		return true
	case faults.Status, faults.Restart:
		g.injected(f.Action)
		w.Header().Set(FaultHeader, f.Rule)
		p := &Problem{Kind: Unavailable, Message: "unavailable (fault injected by rule " + f.Rule + ")", RetryAfter: f.Retry}
		if f.Status == http.StatusTooManyRequests {
			p.Kind, p.Message = RateLimited, "too many requests (fault injected by rule "+f.Rule+")"
		}
		p.Code = p.Kind.String()
		g.spec.Render(w, r, p)
		return true
	}
	return false
}

func (g *Guard) injected(a faults.Action) {
	g.core.Metrics.FaultsInjected.WithLabelValues(g.faultDialect, string(a)).Inc()
}
