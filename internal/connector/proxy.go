package connector

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
)

// Proxy is a reverse proxy to a connector's upstream, for the requests of
// its clients that herald does not serve (the Plex and Zulip kinds).
type Proxy struct {
	Spec Spec
	*httputil.ReverseProxy
	transport *http.Transport
}

// NewProxy returns a proxy to spec's URL (its TLS setting too): each
// request is sent there, with X-Forwarded headers, after rewrite has put
// the upstream's credential in place of the client's herald one; onError
// answers a request the upstream could not be reached for.
func NewProxy(spec Spec, rewrite func(*httputil.ProxyRequest), onError func(http.ResponseWriter, *http.Request, error)) (*Proxy, error) {
	target, err := url.Parse(strings.TrimRight(spec.URL, "/"))
	if err != nil {
		return nil, err
	}
	tr := HTTPClient(spec).Transport.(*http.Transport)
	rp := &httputil.ReverseProxy{
		Transport: tr,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
			rewrite(pr)
		},
		ErrorHandler: onError,
	}
	return &Proxy{Spec: spec, ReverseProxy: rp, transport: tr}, nil
}

// Close closes the proxy's idle connections; it is not used after.
func (p *Proxy) Close() { p.transport.CloseIdleConnections() }
