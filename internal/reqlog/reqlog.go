// Package reqlog carries one request's access-log line from the code that
// learns its parts to the middleware that writes it: the middleware makes
// the Entry (request id, method, path, remote address, start), the guard
// names the key and the dialect, and the delivery engine, when it takes a
// stream's connection over from net/http, takes over the line too and has
// it written when the stream ends. Writer batches the lines' writes.
//
// Ownership: the handler's goroutine owns an Entry until the handler
// returns; SetKey and Detach are called there. After Detach, whoever ends
// the stream calls the returned function, once; nothing else touches the
// Entry then.
package reqlog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"
)

// Header is the response header that carries the request id.
const Header = "X-Request-Id"

// Entry is one request's access-log line while it is being served.
type Entry struct {
	ID     string // the request id: in the Header, the log and an internal error's answer
	Start  time.Time
	Method string
	Path   string // without the query string, which may hold a credential (access_token)
	Remote string
	// Key is the id of the key the request presented (herald tokens) or
	// authenticated as; Dialect is the API that served it ("native", "hue"…).
	Key, Dialect string

	detached bool
	write    Sink
}

// Sink writes an entry's line.
type Sink interface {
	WriteEntry(e *Entry, status int, bytes int64)
}

// A Detacher is a Sink told when its entry is detached (Detach, on the
// handler's goroutine): it may resolve what it needs for the line then,
// and let go of the request, which the stream would otherwise keep alive.
type Detacher interface {
	Detaching(e *Entry)
}

// SinkFunc is a function as a Sink.
type SinkFunc func(e *Entry, status int, bytes int64)

// WriteEntry calls f.
func (f SinkFunc) WriteEntry(e *Entry, status int, bytes int64) { f(e, status, bytes) }

// New returns an entry with a fresh id; write is called once, when the
// request (or the stream it became) ends.
func New(method, path, remote string, start time.Time, write func(e *Entry, status int, bytes int64)) *Entry {
	e := new(Entry)
	e.Init(method, path, remote, start, SinkFunc(write))
	return e
}

// Init makes e a fresh entry, as New does, in place: for a middleware that
// allocates it with the rest of a request's state, once.
func (e *Entry) Init(method, path, remote string, start time.Time, w Sink) {
	*e = Entry{ID: NewID(), Start: start, Method: method, Path: path, Remote: remote, write: w}
}

// NewID returns a fresh request id.
func NewID() string {
	var b [8]byte
	rand.Read(b[:])
	var x [16]byte
	hex.Encode(x[:], b[:])
	return string(x[:])
}

type ctxKey struct{}

// With returns ctx carrying e.
func With(ctx context.Context, e *Entry) context.Context { return context.WithValue(ctx, ctxKey{}, e) }

// From returns the entry ctx carries, or nil (no access log: a test, a
// handler served without the middleware). Every method accepts nil.
func From(ctx context.Context) *Entry {
	e, _ := ctx.Value(ctxKey{}).(*Entry)
	return e
}

// SetKey names the key and the dialect of the request.
func (e *Entry) SetKey(key, dialect string) {
	if e == nil {
		return
	}
	e.Key, e.Dialect = key, dialect
}

// Detach hands the line over to a stream that outlives its handler: the
// middleware writes nothing when the handler returns, and the returned
// function, called once when the stream ends, writes the line with the
// stream's status and the bytes it wrote. It returns nil for a nil entry.
func (e *Entry) Detach() func(status int, bytes int64) {
	if e == nil || e.detached {
		return nil
	}
	e.detached = true
	if d, ok := e.write.(Detacher); ok {
		d.Detaching(e)
	}
	return func(status int, bytes int64) { e.write.WriteEntry(e, status, bytes) }
}

// Detached reports whether Detach was called.
func (e *Entry) Detached() bool { return e != nil && e.detached }

// Done writes the line of a request that was not detached.
func (e *Entry) Done(status int, bytes int64) {
	if e == nil || e.detached {
		return
	}
	e.write.WriteEntry(e, status, bytes)
}
