package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/topic"
)

// Schemes an inbound hook checks a sender's requests with.
const (
	SchemeStandard = "standard" // Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature
	SchemeGitHub   = "github"   // X-Hub-Signature-256: sha256=<hex HMAC of the body>
	SchemeBearer   = "bearer"   // Authorization: Bearer <shared token>
)

var schemes = []string{SchemeStandard, SchemeGitHub, SchemeBearer}

// Hook is an inbound webhook: requests to /v1/hooks/{name} signed by the
// sender become events on Topic. Its secret is never shown again after it
// is made.
type Hook struct {
	Name    string    `json:"name"`
	Topic   string    `json:"topic"`
	Type    string    `json:"type,omitempty"` // "": the sender's (X-GitHub-Event, the body's "type"), else "webhook"
	Scheme  string    `json:"scheme"`
	Rate    float64   `json:"rate,omitempty"` // requests per second; 0: the server's default
	Created time.Time `json:"created"`
}

type hookRecord struct {
	Hook
	Secret string `json:"secret"`
}

// HookSpec is the body of POST /v1/hooks.
type HookSpec struct {
	Name   string  `json:"name"`
	Topic  string  `json:"topic"`
	Type   string  `json:"type"`
	Scheme string  `json:"scheme"`
	Secret *string `json:"secret"` // default: generated
	Rate   float64 `json:"rate"`
}

// HookCreated is the answer to POST /v1/hooks: the one time the secret is
// shown.
type HookCreated struct {
	Hook
	Secret string `json:"secret"`
}

// ErrHookNotFound names no inbound hook.
var ErrHookNotFound = dialect.Sentinel(dialect.NotFound, "no such hook")

var hookName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// liveHook is a hook as this node serves it.
type liveHook struct {
	rec hookRecord
	key []byte // the Standard Webhooks key
	lim *rate.Limiter
}

// hookTable is the hooks this node serves; replaced whole on a change.
type hookTable struct {
	m map[string]*liveHook
}

func (t *hookTable) get(name string) *liveHook { return t.m[name] }

// setHook puts rec in the table (nil value: removes name), keeping the
// limiter of an unchanged hook.
func (s *Service) setHook(name string, rec *hookRecord) {
	for {
		old := s.hooks.Load()
		m := maps.Clone(old.m)
		if m == nil {
			m = map[string]*liveHook{}
		}
		if rec == nil {
			delete(m, name)
		} else {
			lh := &liveHook{rec: *rec}
			if prev := old.m[name]; prev != nil && prev.rec == *rec {
				lh = prev
			} else {
				r, burst := s.cfg.HookRate, s.cfg.HookBurst
				if rec.Rate > 0 {
					r, burst = rec.Rate, max(1, int(2*rec.Rate))
				}
				lh.lim = rate.NewLimiter(rate.Limit(r), burst)
				if rec.Scheme == SchemeStandard {
					lh.key, _ = ParseSecret(rec.Secret)
				}
			}
			m[name] = lh
		}
		if s.hooks.CompareAndSwap(old, &hookTable{m: m}) {
			return
		}
	}
}

func (s *Service) loadHooks(ctx context.Context) error {
	ents, err := s.kv.List(ctx, hookPrefix)
	if err != nil {
		return fmt.Errorf("webhooks: hooks: %w", err)
	}
	for _, e := range ents {
		s.applyHook(e)
	}
	return nil
}

func (s *Service) applyHook(e eventlog.Entry) {
	if e.Key == "" {
		return
	}
	name := strings.TrimPrefix(e.Key, hookPrefix)
	if e.Value == nil {
		s.setHook(name, nil)
		return
	}
	var rec hookRecord
	if err := json.Unmarshal(e.Value, &rec); err != nil {
		s.log.Error("webhooks: stored hook", "key", e.Key, "err", err)
		return
	}
	s.setHook(name, &rec)
}

func (s *Service) watchHooks(ctx context.Context) error {
	return s.kv.Watch(ctx, hookPrefix, s.applyHook)
}

// CreateHook stores a new inbound hook (admin only: it appends as herald).
func (s *Service) CreateHook(ctx context.Context, spec HookSpec) (HookCreated, error) {
	if !hookName.MatchString(spec.Name) {
		return HookCreated{}, fieldErr("name", "1 to 64 of a-z, 0-9, '-', '_', starting with a letter or digit")
	}
	if err := topic.Validate(spec.Topic); err != nil {
		return HookCreated{}, fieldErr("topic", "%v", err)
	}
	if ns := dialect.Namespace(spec.Topic); ns != "" {
		return HookCreated{}, fieldErr("topic", "topics under %s. are the %s API's own", ns, ns)
	}
	if spec.Type != "" && (len(spec.Type) > 128 || !printable(spec.Type)) {
		return HookCreated{}, fieldErr("type", "1 to 128 printable ASCII characters")
	}
	if !slices.Contains(schemes, spec.Scheme) {
		return HookCreated{}, fieldErr("scheme", "must be one of %s", strings.Join(schemes, ", "))
	}
	if spec.Rate < 0 || spec.Rate > maxRate {
		return HookCreated{}, fieldErr("rate", "must be 0 (the default) to %d requests per second", maxRate)
	}
	rec := hookRecord{Hook: Hook{Name: spec.Name, Topic: spec.Topic, Type: spec.Type, Scheme: spec.Scheme,
		Rate: spec.Rate, Created: s.cfg.Now().UTC()}}
	switch {
	case spec.Secret == nil && spec.Scheme == SchemeStandard:
		rec.Secret = NewSecret()
	case spec.Secret == nil:
		b := make([]byte, 24)
		rand.Read(b)
		rec.Secret = hex.EncodeToString(b)
	case spec.Scheme == SchemeStandard:
		if _, err := ParseSecret(*spec.Secret); err != nil {
			return HookCreated{}, fieldErr("secret", "%v", strings.TrimPrefix(err.Error(), "invalid webhook: "))
		}
		rec.Secret = *spec.Secret
	default:
		if len(*spec.Secret) < 16 || len(*spec.Secret) > 256 || !printable(*spec.Secret) {
			return HookCreated{}, fieldErr("secret", "16 to 256 printable ASCII characters")
		}
		rec.Secret = *spec.Secret
	}
	if err := s.create(ctx, hookPrefix+rec.Name, &rec); err != nil {
		if errors.Is(err, eventlog.ErrConflict) {
			return HookCreated{}, &dialect.Problem{Kind: dialect.Conflict, Code: "exists", Message: "a hook named " + rec.Name + " exists", Err: err}
		}
		return HookCreated{}, err
	}
	s.setHook(rec.Name, &rec) // this node serves it at once; the watch tells the others
	return HookCreated{Hook: rec.Hook, Secret: rec.Secret}, nil
}

// Hooks returns the inbound hooks, by name.
func (s *Service) Hooks(ctx context.Context) ([]Hook, error) {
	ents, err := s.kv.List(ctx, hookPrefix)
	if err != nil {
		return nil, err
	}
	out := []Hook{}
	for _, e := range ents {
		var rec hookRecord
		if json.Unmarshal(e.Value, &rec) == nil {
			out = append(out, rec.Hook)
		}
	}
	slices.SortFunc(out, func(a, b Hook) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Hook returns one inbound hook.
func (s *Service) Hook(ctx context.Context, name string) (Hook, error) {
	if !hookName.MatchString(name) {
		return Hook{}, fmt.Errorf("%w %s", ErrHookNotFound, name)
	}
	e, err := s.kv.Get(ctx, hookPrefix+name)
	if errors.Is(err, eventlog.ErrKeyNotFound) {
		return Hook{}, fmt.Errorf("%w %s", ErrHookNotFound, name)
	}
	if err != nil {
		return Hook{}, err
	}
	var rec hookRecord
	if err := json.Unmarshal(e.Value, &rec); err != nil {
		return Hook{}, err
	}
	return rec.Hook, nil
}

// DeleteHook removes an inbound hook; the events it stored stay.
func (s *Service) DeleteHook(ctx context.Context, name string) error {
	if _, err := s.Hook(ctx, name); err != nil {
		return err
	}
	if err := s.kv.Delete(ctx, hookPrefix+name, 0); err != nil {
		return err
	}
	s.setHook(name, nil)
	return nil
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return s != ""
}

// checkGitHub checks X-Hub-Signature-256 ("sha256=<hex>") in constant time.
func checkGitHub(secret, header string, body []byte) error {
	got, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return fmt.Errorf("%w: X-Hub-Signature-256 is required (sha256=<hex>)", ErrSignature)
	}
	sum, err := hex.DecodeString(got)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	if err != nil || !hmac.Equal(sum, m.Sum(nil)) {
		return fmt.Errorf("%w: X-Hub-Signature-256 does not match", ErrSignature)
	}
	return nil
}

// checkBearer compares a bearer token with the secret in constant time
// (their digests, so the length leaks nothing either).
func checkBearer(secret, header string) error {
	tok, ok := strings.CutPrefix(header, "Bearer ")
	a, b := sha256.Sum256([]byte(tok)), sha256.Sum256([]byte(secret))
	if !ok || !hmac.Equal(a[:], b[:]) {
		return fmt.Errorf("%w: Authorization: Bearer <the hook's token> is required", ErrSignature)
	}
	return nil
}
