package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/eventlog"
)

// Bucket is the KV bucket that holds the connectors: for each name,
// "connector.<name>" its Spec as stored (secret included), "state.<name>"
// what it last said about itself and "position.<name>" its upstream
// position. Only definitions are watched (internal/lease's Supervise), so
// a connector's own writes never restart it.
//
// The upstream secret is stored as given, readable by herald and by whoever
// can read the engine, and never returned by the API. It is not encrypted
// with a key of the node's data directory: any node of a cluster must be
// able to run any connector after another dies, and nodes share nothing but
// the engine, so a node-local key would lock the others out.
const Bucket = "herald-connectors"

const (
	defPrefix      = "connector."
	statePrefix    = "state."
	positionPrefix = "position."
)

// Sentinel errors the API maps to its answers.
var (
	ErrNotFound = dialect.Sentinel(dialect.NotFound, "no such connector")
	errInvalid  = dialect.Sentinel(dialect.BadRequest, "bad request")
)

// nameRE is what a connector name looks like: it is a KV key token, a
// lease name and a metric label.
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

func invalid(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", errInvalid, field, fmt.Sprintf(format, args...))
}

// check says whether spec is complete and of a known kind.
func check(spec Spec, kinds map[string]Kind) error {
	if !nameRE.MatchString(spec.Name) {
		return invalid("name", "%q must be 1 to 63 lower-case letters, digits, '-' or '_'", clip(spec.Name))
	}
	k, ok := kinds[spec.Kind]
	if !ok {
		names := make([]string, 0, len(kinds))
		for n := range kinds {
			names = append(names, n)
		}
		slices.Sort(names)
		return invalid("kind", "%q is not one of %s", clip(spec.Kind), strings.Join(names, ", "))
	}
	u, err := url.Parse(spec.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalid("url", "%q is not an http or https URL", clip(spec.URL))
	}
	if u.User != nil {
		return invalid("url", "put the upstream's credentials in key, not in the URL")
	}
	if err := k.Check(spec); err != nil {
		return fmt.Errorf("%w: %w", errInvalid, err)
	}
	return nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// store reads and writes the bucket.
type store struct{ kv eventlog.KV }

func (s store) spec(ctx context.Context, name string) (Spec, uint64, error) {
	if !nameRE.MatchString(name) {
		return Spec{}, 0, ErrNotFound
	}
	e, err := s.kv.Get(ctx, defPrefix+name)
	if errors.Is(err, eventlog.ErrKeyNotFound) {
		return Spec{}, 0, ErrNotFound
	}
	if err != nil {
		return Spec{}, 0, err
	}
	spec, err := decodeSpec(e.Value)
	return spec, e.Revision, err
}

func decodeSpec(b []byte) (Spec, error) {
	var spec Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		return Spec{}, fmt.Errorf("connector: stored definition: %w", err)
	}
	return spec, nil
}

// put stores spec, creating it (rev 0) or replacing the revision read.
func (s store) put(ctx context.Context, spec Spec, rev uint64) error {
	b, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	if rev == 0 {
		_, err = s.kv.Create(ctx, defPrefix+spec.Name, b)
	} else {
		_, err = s.kv.Update(ctx, defPrefix+spec.Name, b, rev)
	}
	if errors.Is(err, eventlog.ErrConflict) {
		return dialect.Errorf(dialect.Conflict, "connector %s changed meanwhile; send it again", spec.Name)
	}
	return err
}

// specs returns every stored definition, by name.
func (s store) specs(ctx context.Context) ([]Spec, error) {
	ents, err := s.kv.List(ctx, defPrefix)
	if err != nil {
		return nil, err
	}
	out := make([]Spec, 0, len(ents))
	for _, e := range ents {
		spec, err := decodeSpec(e.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, spec)
	}
	slices.SortFunc(out, func(a, b Spec) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// remove deletes the definition first (its job stops), then what the
// connector kept.
func (s store) remove(ctx context.Context, name string) error {
	if _, _, err := s.spec(ctx, name); err != nil {
		return err
	}
	for _, k := range []string{defPrefix, statePrefix, positionPrefix} {
		if err := s.kv.Delete(ctx, k+name, 0); err != nil && !errors.Is(err, eventlog.ErrKeyNotFound) {
			return err
		}
	}
	return nil
}

// positions is a connector's Positions in the bucket.
type positions struct {
	kv   eventlog.KV
	name string
}

func (p positions) Load(ctx context.Context) (string, error) {
	e, err := p.kv.Get(ctx, positionPrefix+p.name)
	if errors.Is(err, eventlog.ErrKeyNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return string(e.Value), nil
}

// Store writes pos at once: a kind stores a position only after the events
// it covers are durable, and acts on the upstream (deletes a batch) only
// after Store returns.
func (p positions) Store(ctx context.Context, pos string) error {
	_, err := p.kv.Put(ctx, positionPrefix+p.name, []byte(pos))
	return err
}
