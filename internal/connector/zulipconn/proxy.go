package zulipconn

import (
	"encoding/base64"
	"net/http"
	"net/http/httputil"
	"strings"

	"github.com/herald-io/herald/internal/connector"
	zulipdialect "github.com/herald-io/herald/internal/dialect/zulip"
)

// Observe gives the dialect a reverse proxy for each connector's identity
// (the first connector by name, for an email two of them follow), on
// every node: the identity's requests that herald does not serve go to
// its server with the connector's credential.
func (k *Kind) Observe(specs []connector.Spec) {
	k.mu.Lock()
	defer k.mu.Unlock()
	next := map[string]*connector.Proxy{}
	handlers := map[string]http.Handler{}
	for _, spec := range specs {
		email := strings.ToLower(spec.Email)
		if _, taken := handlers[email]; taken {
			continue
		}
		p := k.proxies[spec.Name]
		if p == nil || p.Spec != spec {
			var err error
			if p, err = newProxy(spec); err != nil {
				continue // Check refused such a URL when it was stored
			}
		}
		next[spec.Name] = p
		handlers[email] = p
	}
	for name, p := range k.proxies {
		if next[name] != p {
			p.Close()
		}
	}
	k.proxies = next
	k.api.SetUpstreams(handlers)
}

// newProxy is the reverse proxy to one connector's server.
func newProxy(spec connector.Spec) (*connector.Proxy, error) {
	// The client authenticated to herald with the identity's herald key;
	// the server wants the identity's own.
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(spec.Email+":"+spec.Key))
	return connector.NewProxy(spec, func(pr *httputil.ProxyRequest) {
		pr.Out.Header.Set("Authorization", basic)
		pr.Out.Header.Del("Cookie") // herald's, if any, are nothing to the server
	}, zulipdialect.UpstreamUnreachable)
}
