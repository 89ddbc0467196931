package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/eventlog"
)

// MaxHookBody bounds an inbound request's body.
const MaxHookBody = 1 << 20

// Received is the answer to an inbound request.
type Received struct {
	Seq       uint64 `json:"seq"`
	ID        string `json:"id"`
	Duplicate bool   `json:"duplicate,omitempty"` // the sender's delivery id was stored before
}

// Admit says whether hook name takes a request now: it exists, and its
// rate allows one. It costs no engine call, so a flood of unsigned or
// made-up requests costs nothing but this.
func (s *Service) Admit(name string) error {
	lh := s.hooks.Load().get(name)
	if lh == nil {
		s.core.Metrics.HookRequests.WithLabelValues("", "rejected").Inc()
		return fmt.Errorf("%w %s", ErrHookNotFound, name)
	}
	if !lh.lim.Allow() {
		s.core.Metrics.HookRequests.WithLabelValues(name, "rejected").Inc()
		return &dialect.Problem{Kind: dialect.RateLimited, Code: dialect.RateLimited.String(),
			Message: "too many requests for this hook", RetryAfter: time.Second}
	}
	return nil
}

// Receive checks a request to hook name and appends its body as an event.
// The sender's delivery id (webhook-id, X-GitHub-Delivery, or with a
// bearer token Idempotency-Key) makes the event's id, and is remembered
// for Config.Seen, so a sender's retries are stored once.
func (s *Service) Receive(ctx context.Context, name string, h http.Header, body []byte) (Received, error) {
	lh := s.hooks.Load().get(name)
	if lh == nil {
		return Received{}, fmt.Errorf("%w %s", ErrHookNotFound, name)
	}
	rec := &lh.rec
	var delivery, typ string
	var err error
	switch rec.Scheme {
	case SchemeStandard:
		delivery = h.Get(HeaderID)
		err = Verify(lh.key, delivery, h.Get(HeaderTime), h.Get(HeaderSig), body, s.cfg.Now())
	case SchemeGitHub:
		delivery, typ = h.Get("X-GitHub-Delivery"), h.Get("X-GitHub-Event")
		err = checkGitHub(rec.Secret, h.Get("X-Hub-Signature-256"), body)
	case SchemeBearer:
		delivery = h.Get("Idempotency-Key")
		err = checkBearer(rec.Secret, h.Get("Authorization"))
	}
	if err != nil {
		s.core.Metrics.HookRequests.WithLabelValues(name, "unsigned").Inc()
		return Received{}, err
	}
	if !json.Valid(body) {
		s.core.Metrics.HookRequests.WithLabelValues(name, "rejected").Inc()
		return Received{}, dialect.Errorf(dialect.BadRequest, "the body is not JSON")
	}
	if rec.Scheme == SchemeStandard {
		var b struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(body, &b)
		typ = b.Type
	}
	if rec.Type != "" {
		typ = rec.Type
	}
	if typ == "" || len(typ) > 128 || !printable(typ) {
		typ = "webhook"
	}
	d := eventlog.Draft{Topic: rec.Topic, Type: typ, Data: body}
	var seenKey string
	if delivery != "" {
		sum := sha256.Sum256([]byte(delivery))
		digest := hex.EncodeToString(sum[:16])
		d.ID = "hook:" + name + ":" + digest
		if len(delivery) <= 64 && printable(delivery) {
			d.ID = "hook:" + name + ":" + delivery
		}
		seenKey = "seen." + name + "." + digest
		if e, err := s.seen.Get(ctx, seenKey); err == nil {
			seq, _ := strconv.ParseUint(string(e.Value), 10, 64)
			s.core.Metrics.HookRequests.WithLabelValues(name, "duplicate").Inc()
			return Received{Seq: seq, ID: d.ID, Duplicate: true}, nil
		} else if !errors.Is(err, eventlog.ErrKeyNotFound) {
			return Received{}, err
		}
	}
	// The append first, then the id remembered: a crash in between
	// leaves the event stored and the id unknown, so a retry is stored
	// again (after the engine's own dedupe window) rather than lost.
	acks, err := s.core.Append(ctx, "hooks", []eventlog.Draft{d})
	if err != nil {
		s.core.Metrics.HookRequests.WithLabelValues(name, "error").Inc()
		return Received{}, err
	}
	a := acks[0]
	if seenKey != "" {
		if _, err := s.seen.Create(ctx, seenKey, strconv.AppendUint(nil, a.Seq, 10)); err != nil && !errors.Is(err, eventlog.ErrConflict) {
			s.log.Warn("webhooks: remembering a delivery id", "hook", name, "err", err)
		}
	}
	outcome := "stored"
	if a.Duplicate {
		outcome = "duplicate"
	}
	s.core.Metrics.HookRequests.WithLabelValues(name, outcome).Inc()
	return Received{Seq: a.Seq, ID: a.ID, Duplicate: a.Duplicate}, nil
}
