package dialect

import (
	"bytes"
	"net/http"
)

// Answer is the http.ResponseWriter of a request herald serves in process
// (a route's action through a dialect, a mirrored identity's call through
// its upstream proxy): it keeps the status, the header and the first
// Limit bytes of the body; Truncated says more was written. The handler
// never sees a write fail.
type Answer struct {
	Status    int // 0 until the handler answers
	Body      bytes.Buffer
	Limit     int
	Truncated bool
	header    http.Header
}

var _ http.ResponseWriter = (*Answer)(nil)

func (a *Answer) Header() http.Header {
	if a.header == nil {
		a.header = http.Header{}
	}
	return a.header
}

func (a *Answer) WriteHeader(code int) {
	if a.Status == 0 {
		a.Status = code
	}
}

func (a *Answer) Write(b []byte) (int, error) {
	a.WriteHeader(http.StatusOK)
	keep := b
	if room := max(a.Limit-a.Body.Len(), 0); len(keep) > room {
		keep, a.Truncated = keep[:room], true
	}
	a.Body.Write(keep)
	return len(b), nil
}
