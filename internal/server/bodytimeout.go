package server

import (
	"errors"
	"io"
	"net/http"
	"os"
	"time"
)

// DefaultBodyTimeout is Config.BodyTimeout's default.
const DefaultBodyTimeout = 30 * time.Second

// boundBody gives r's body d to arrive, counted from the
// moment the request's headers have been read (ReadHeaderTimeout bounds
// those), on every route: a client that trickles a body is cut then,
// authenticated or not.
//
// The rule that makes this safe for long-polls and streams: a read
// deadline must never be in force once net/http has started its
// background read of the connection (which notices a client going away),
// because one firing there cancels the request's context. net/http starts
// that read, clearing the deadline, when the body has been read to its end
// — or before the handler runs when there is no body. So the deadline is
// set only on requests with a body, at the start of the handler, and what
// follows the body (a long-poll's wait) is not bounded by it. A body not
// read to its end keeps the deadline, so the rest net/http discards after
// the handler is bounded too; net/http sets the next request's deadlines
// itself. http.Server.ReadTimeout would bound headers and body together,
// and leave handlers the socket's error, whose text names addresses.
func boundBody(w http.ResponseWriter, r *http.Request, d time.Duration) {
	// ContentLength is 0 exactly when no body bytes may follow
	// (HTTP/1.x: r.Body is http.NoBody; HTTP/2: the stream ended).
	if r.ContentLength != 0 && r.Body != nil {
		rc := http.NewResponseController(w)
		if rc.SetReadDeadline(time.Now().Add(d)) == nil {
			r.Body = &boundedBody{ReadCloser: r.Body, rc: rc, d: d}
		}
	}
}

// boundedBody clears the read deadline when the body ends, and reports a
// body that did not arrive in time as errBodyTimeout rather than with the
// socket's error, whose text (addresses) a dialect might pass on.
type boundedBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	d    time.Duration
	done bool // the deadline was cleared
}

func (b *boundedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	switch {
	case err == io.EOF && !b.done:
		// net/http has cleared it too (HTTP/1.x), as its background
		// read started; HTTP/2 keeps a deadline per stream.
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	case err != nil && errors.Is(err, os.ErrDeadlineExceeded):
		err = &bodyTimeoutError{b.d}
	}
	return n, err
}

// bodyTimeoutError is what reading a body that did not arrive in time
// returns.
type bodyTimeoutError struct{ d time.Duration }

func (e *bodyTimeoutError) Error() string {
	return "the request body did not arrive within " + e.d.String()
}

// Timeout reports true, like the socket's error it replaces.
func (e *bodyTimeoutError) Timeout() bool { return true }

// Is makes errors.Is(err, os.ErrDeadlineExceeded) hold, as it did for the
// socket's error.
func (e *bodyTimeoutError) Is(target error) bool { return target == os.ErrDeadlineExceeded }
