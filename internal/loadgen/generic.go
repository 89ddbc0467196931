package loadgen

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Placeholders of the generic mode's templates.
const (
	placeholderTopic   = "{topic}"
	placeholderURL     = "{url}" // Config.URL, e.g. a spawned server's
	placeholderKey     = "{key}" // Config.Key
	placeholderPayload = "{payload}"
)

// genericMode measures any server that streams SSE: subscribers open
// SubURL, publishers send PubMethod PubURL with PubBody, in which the tool
// puts its payload. The payload is a run of letters, digits, '~' and 'x'
// that needs no escaping in JSON strings, form values or URLs; the
// subscribers find it in whatever the server streams.
type genericMode struct {
	sub       *url.URL
	subHeader string // extra request header lines
	pub       pubTemplate
	reactors  *reactorPool // read the subscribers
}

func newGeneric(cfg *Config) (*genericMode, error) {
	if cfg.SubURL == "" || cfg.PubURL == "" {
		return nil, errors.New("generic mode needs a subscribe URL and a publish URL")
	}
	expand := strings.NewReplacer(placeholderTopic, cfg.Topic, placeholderURL, strings.TrimSuffix(cfg.URL, "/"),
		placeholderKey, cfg.Key).Replace
	sub, err := url.Parse(expand(cfg.SubURL))
	if err != nil {
		return nil, fmt.Errorf("subscribe URL: %w", err)
	}
	if _, err := hostPort(sub); err != nil {
		return nil, fmt.Errorf("subscribe URL: %w", err)
	}
	pubURL := expand(cfg.PubURL)
	if _, err := url.Parse(pubURL); err != nil {
		return nil, fmt.Errorf("publish URL: %w", err)
	}
	pre, post, ok := strings.Cut(expand(cfg.PubBody), placeholderPayload)
	if !ok || strings.Contains(post, placeholderPayload) {
		return nil, fmt.Errorf("the publish body must hold %s exactly once", placeholderPayload)
	}
	m := &genericMode{sub: sub, reactors: newReactorPool(), pub: pubTemplate{
		method: cmp.Or(cfg.PubMethod, http.MethodPost), url: pubURL, header: http.Header{},
		pre: []byte(pre), post: []byte(post),
	}}
	for _, h := range cfg.SubHeaders {
		name, value, err := splitHeader(expand(h))
		if err != nil {
			return nil, err
		}
		m.subHeader += name + ": " + value + "\r\n"
	}
	for _, h := range cfg.PubHeaders {
		name, value, err := splitHeader(expand(h))
		if err != nil {
			return nil, err
		}
		m.pub.header.Add(name, value)
	}
	return m, nil
}

// splitHeader splits "Name: value".
func splitHeader(h string) (name, value string, err error) {
	name, value, ok := strings.Cut(h, ":")
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if !ok || name == "" || strings.ContainsAny(name+value, "\r\n") {
		return "", "", fmt.Errorf("header %q: want \"Name: value\"", h)
	}
	return name, value, nil
}

func (m *genericMode) prepare(context.Context, int, int) error { return nil }
func (m *genericMode) cleanup(context.Context) error           { return nil }
func (m *genericMode) close()                                  { m.reactors.close() }

func (m *genericMode) subscribe(ctx context.Context, _ int, local net.Addr) (receiver, error) {
	return dialSSE(ctx, m.reactors, m.sub, local, m.subHeader)
}

func (m *genericMode) publisher(int) pubTemplate { return m.pub }
