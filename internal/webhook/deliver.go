package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/herald-io/herald/internal/buildinfo"
	"github.com/herald-io/herald/internal/ctxtime"
	"github.com/herald-io/herald/internal/hub"
)

// Bounds on reading an endpoint's answer.
const (
	excerptLen = 256      // bytes of an answer kept in the attempts log
	drainLen   = 64 << 10 // bytes read past it, so the connection can be reused
	// stopGrace is how long a request may go on once its job ends: well
	// within the third of a lease's TTL between the holder's stop and the
	// earliest takeover.
	stopGrace = time.Second
	// maxRetryAfter bounds the wait a receiver may ask for.
	maxRetryAfter = 24 * time.Hour
)

// deliver sends one event until a 2xx, or until the schedule is over,
// reporting every try. r is where a previous holder left the event on the
// schedule (zero: not tried yet).
func (j *job) deliver(ctx context.Context, ev *hub.Event, r Retry, reports chan<- report) {
	sched := j.s.cfg.Schedule
	tries := r.Tries
	wait := time.Duration(0)
	if tries == 0 {
		wait = j.jitter(sched[0])
	} else if !r.Next.IsZero() {
		wait = r.Next.Sub(j.s.cfg.Now())
	}
	for {
		if ctxtime.Sleep(ctx, wait) != nil {
			return
		}
		if j.limiter != nil && j.limiter.Wait(ctx) != nil {
			return
		}
		tries++
		a, retryAfter := j.attempt(ctx, ev, tries)
		if ctx.Err() != nil && a.Outcome() != "delivered" {
			return // cut short by the job's end, not the endpoint's fault
		}
		rep := report{seq: ev.Seq, a: a}
		switch {
		case a.Outcome() == "delivered":
			rep.final, rep.ok = true, true
		case tries >= len(sched):
			rep.final = true
		default:
			wait = max(j.jitter(sched[tries]), retryAfter)
			rep.retry = Retry{Tries: tries, Next: j.s.cfg.Now().Add(wait)}
		}
		reports <- rep // run takes every report, even after ctx ends
		if rep.final || ctx.Err() != nil {
			return
		}
	}
}

// jitter spreads d by ± Config.Jitter, so endpoints that failed together
// are not all retried at once.
func (j *job) jitter(d time.Duration) time.Duration {
	f := j.s.cfg.Jitter
	if d <= 0 || f <= 0 {
		return max(d, 0)
	}
	return time.Duration(float64(d) * (1 + f*(2*rand.Float64()-1)))
}

// WebhookID is the webhook-id of an endpoint's delivery of the event at
// seq: the same on every try and every node, so receivers deduplicate.
func WebhookID(endpoint string, seq uint64) string {
	return "msg_" + endpoint + "_" + strconv.FormatUint(seq, 10)
}

// attempt makes one request; it returns the attempt and, for a 429 or 503
// with Retry-After, how long the receiver asked to wait.
func (j *job) attempt(ctx context.Context, ev *hub.Event, try int) (Attempt, time.Duration) {
	body := ev.Wire(j.s.format)
	now := j.s.cfg.Now()
	a := Attempt{Time: now.UTC(), Seq: ev.Seq, WebhookID: WebhookID(j.rec.ID, ev.Seq), Try: try}
	// A request under way when the job ends may finish within stopGrace:
	// one delivered then is not sent again by the next holder.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), j.s.cfg.Timeout)
	defer cancel()
	defer context.AfterFunc(ctx, func() { time.AfterFunc(stopGrace, cancel) })()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, j.rec.URL, bytes.NewReader(body))
	if err != nil {
		a.Error = "bad URL"
		return a, 0
	}
	for k, v := range j.rec.Headers {
		req.Header.Set(k, v)
	}
	ts := now.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "herald/"+buildinfo.Read().Version)
	req.Header.Set(HeaderID, a.WebhookID)
	req.Header.Set(HeaderTime, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSig, Signatures(j.rec.keys(now), a.WebhookID, ts, body))
	start := time.Now()
	resp, err := j.s.client.Do(req)
	if err != nil {
		a.LatencyMS = ms(time.Since(start))
		a.Error = describeErr(err, j.s.cfg.Timeout)
		return a, 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, excerptLen))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainLen))
	a.LatencyMS = ms(time.Since(start))
	a.Status = resp.StatusCode
	a.Response = excerpt(b)
	var retryAfter time.Duration
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
		retryAfter = min(retryAfter, maxRetryAfter)
	}
	return a, retryAfter
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// parseRetryAfter reads Retry-After: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32); err == nil {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// excerpt keeps the valid UTF-8 of an answer's first bytes.
func excerpt(b []byte) string { return strings.ToValidUTF8(string(b), "") }

// describeErr says why a request got no answer, without the URL (which
// the attempt's endpoint shows).
func describeErr(err error, timeout time.Duration) string {
	switch {
	case errors.Is(err, ErrRefusedAddress):
		_, msg, _ := strings.Cut(err.Error(), ErrRefusedAddress.Error()+": ")
		return "refused by the address policy: " + msg
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Sprintf("no answer within %s", timeout)
	}
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner.Error()
		}
	}
	return err.Error()
}

// describe is an attempt's outcome in a sentence.
func describe(a *Attempt) string {
	if a.Status != 0 {
		return "status " + strconv.Itoa(a.Status)
	}
	return a.Error
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
