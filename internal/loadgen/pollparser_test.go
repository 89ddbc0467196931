package loadgen

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// countingDialect polls /p/N, N counting the 200 answers; a body holding
// "fail" has no next poll.
type countingDialect struct{ n int }

func (d *countingDialect) next(target, body []byte) ([]byte, error) {
	if strings.Contains(string(body), "fail") {
		return nil, errors.New("no next poll")
	}
	d.n++
	return fmt.Appendf(append(target, "/p/"...), "%d", d.n), nil
}

// pollRecord is what a pollParser did: the bodies it handed on, and the
// polls it sent, each as its target, prefixed with the wait if it waited.
type pollRecord struct {
	bodies []string
	sent   []string
}

func newTestPollParser(rec *pollRecord) *pollParser {
	sent := func(prefix string, req []byte) {
		target, _, _ := strings.Cut(strings.TrimPrefix(string(req), "GET "), " HTTP/1.1\r\n")
		if !strings.HasSuffix(string(req), "\r\nHost: h\r\nX-Key: k\r\n\r\n") {
			target += " (malformed: " + string(req) + ")"
		}
		rec.sent = append(rec.sent, prefix+target)
	}
	p := newPollParser(&countingDialect{}, "/p", "h", "X-Key: k\r\n",
		func(req []byte) error { sent("", req); return nil },
		func(d time.Duration, req []byte) error { sent(d.String()+" ", req); return nil })
	p.start([]byte("/p/0"))
	return p
}

func (rec *pollRecord) data(b []byte) { rec.bodies = append(rec.bodies, string(b)) }

// feedCut feeds answer to p cut at cuts, each offset clamped to the
// answer's length, and returns the first error.
func feedCut(p *pollParser, answer string, cuts []int, data func([]byte)) error {
	from := 0
	for _, to := range append(cuts, len(answer)) {
		to = max(from, min(to, len(answer)))
		if _, err := p.feed([]byte(answer[from:to]), data); err != nil {
			return err
		}
		from = to
	}
	return nil
}

// A sequence of answers, in every framing and however the reads cut them,
// hands each 200's body on whole and sends the poll the dialect asks for
// next; a 429 or 503 sends the same poll again after the wait it asks for,
// at least 50 ms.
func TestPollParserAnswers(t *testing.T) {
	answers := []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{\"next\":1}",
		"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n7;x=y\r\n:[1,2]}\r\n0\r\nX-T: 1\r\n\r\n",
		"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 2\r\nContent-Length: 5\r\n\r\nslow!",
		"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.0 200 OK\nConnection: keep-alive\nContent-Length: 2\n\n{}",
	}
	wantBodies := []string{`{"next":1}`, `{"a":[1,2]}`, `{}`}
	wantSent := []string{"/p/1", "/p/2", "2s /p/2", "50ms /p/2", "/p/3"}
	longest := 0
	for _, a := range answers {
		longest = max(longest, len(a))
	}
	for _, f := range feedings(longest, nil) {
		t.Run(f.how, func(t *testing.T) {
			var rec pollRecord
			p := newTestPollParser(&rec)
			for i, a := range answers {
				if err := feedCut(p, a, f.cuts, rec.data); err != nil {
					t.Fatalf("answer %d: %v", i, err)
				}
			}
			if fmt.Sprint(rec.bodies) != fmt.Sprint(wantBodies) || fmt.Sprint(rec.sent) != fmt.Sprint(wantSent) {
				t.Fatalf("bodies %q, sent %q; want %q, %q", rec.bodies, rec.sent, wantBodies, wantSent)
			}
		})
	}
}

// An answer the receiver cannot go on from ends the stream with an error
// that says why, and sends nothing more.
func TestPollParserErrors(t *testing.T) {
	isStatus := func(code int, body string) func(error) bool {
		return func(err error) bool {
			var se *statusError
			return errors.As(err, &se) && se.status == code && string(se.body) == body
		}
	}
	malformed := func(err error) bool { return errors.Is(err, errMalformed) }
	closed := func(err error) bool {
		return err != nil && strings.HasSuffix(err.Error(), "the server closed the connection")
	}
	tests := []struct {
		name   string
		answer string
		err    func(error) bool
		bodies int // handed on before the error
	}{
		{"server error", "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops", isStatus(500, "oops"), 0},
		{"no content", "HTTP/1.1 204 No Content\r\n\r\n", isStatus(204, ""), 0},
		{"not HTTP", "SSH-2.0-OpenSSH_9.6\r\n", malformed, 0},
		{"header without a colon", "HTTP/1.1 200 OK\r\nContent-Length 2\r\n\r\n{}", malformed, 0},
		{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\n{}", malformed, 0},
		{"head too long", "HTTP/1.1 200 OK\r\nX-A: " + strings.Repeat("a", maxHead), malformed, 0},
		{"bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", malformed, 0},
		{"bytes after the answer", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 200 OK\r\n", malformed, 0},
		{"bytes after a bodiless answer", "HTTP/1.1 204 No Content\r\n\r\nx", malformed, 0},
		{"closed after the answer", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}", closed, 1},
		{"retry on a closing connection", "HTTP/1.1 503 Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", closed, 0},
		{"no next poll", "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n\"fail\"", func(err error) bool {
			return err != nil && strings.Contains(err.Error(), "no next poll")
		}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var rec pollRecord
			p := newTestPollParser(&rec)
			err := feedCut(p, tc.answer, nil, rec.data)
			if !tc.err(err) || len(rec.bodies) != tc.bodies || len(rec.sent) != 0 {
				t.Fatalf("error %v, bodies %q, sent %q", err, rec.bodies, rec.sent)
			}
		})
	}
}

// A body over maxBody is an error, not memory without end.
func TestPollParserBodyLimit(t *testing.T) {
	var rec pollRecord
	p := newTestPollParser(&rec)
	err := feedCut(p, fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", maxBody+1), nil, rec.data)
	piece := make([]byte, 1<<20)
	for sent := 0; err == nil && sent <= maxBody; sent += len(piece) {
		_, err = p.feed(piece, rec.data)
	}
	if err == nil || !strings.Contains(err.Error(), "answer body over") || len(rec.bodies) != 0 {
		t.Fatalf("error %v, %d bodies", err, len(rec.bodies))
	}
}

// The connection's end is an error wherever it comes, since a receiver
// polls until closed; a body that lasts until the end is handed on first.
func TestPollParserEOF(t *testing.T) {
	tests := []struct {
		name, answer string
		bodies       []string
		status       int // of the error; 0: the server closed the connection
	}{
		{"between answers", "", nil, 0},
		{"inside a head", "HTTP/1.1 200 OK\r\nContent-Le", nil, 0},
		{"inside a body", "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{\"a\"", nil, 0},
		{"ending a body", "HTTP/1.1 200 OK\r\n\r\n{\"a\":1}", []string{`{"a":1}`}, 0},
		{"ending an error", "HTTP/1.1 500 Oops\r\n\r\nbroken", nil, 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var rec pollRecord
			p := newTestPollParser(&rec)
			if err := feedCut(p, tc.answer, nil, rec.data); err != nil {
				t.Fatal(err)
			}
			err := p.eof()
			var se *statusError
			switch {
			case tc.status != 0 && !(errors.As(err, &se) && se.status == tc.status):
				t.Errorf("eof: %v; want status %d", err, tc.status)
			case tc.status == 0 && (err == nil || !strings.HasSuffix(err.Error(), "the server closed the connection")):
				t.Errorf("eof: %v; want the server closed the connection", err)
			}
			if fmt.Sprint(rec.bodies) != fmt.Sprint(tc.bodies) || len(rec.sent) != 0 {
				t.Errorf("bodies %q, sent %q; want %q and nothing sent", rec.bodies, rec.sent, tc.bodies)
			}
		})
	}
}

// Reading an answer and sending the next poll allocates nothing once the
// buffers have grown.
func TestPollParserAllocs(t *testing.T) {
	p := newPollParser(&countingDialect{}, "/p", "h", "X-Key: k\r\n",
		func([]byte) error { return nil }, func(time.Duration, []byte) error { return nil })
	p.start([]byte("/p/0"))
	answer := []byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
	data := func([]byte) {}
	feed := func() {
		if _, err := p.feed(answer[:20], data); err != nil {
			t.Fatal(err)
		}
		if _, err := p.feed(answer[20:], data); err != nil {
			t.Fatal(err)
		}
	}
	feed()
	p.dialect = fixedDialect("/p/next")
	if n := testing.AllocsPerRun(100, feed); n != 0 {
		t.Errorf("%.1f allocations per answer", n)
	}
}

// fixedDialect always polls the same target.
type fixedDialect string

func (d fixedDialect) next(target, _ []byte) ([]byte, error) { return append(target, d...), nil }

// FuzzPollParser: any bytes, however cut, parse without a panic and as they
// do whole: the same bodies handed on, the same polls sent, the same
// verdict.
func FuzzPollParser(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{\"next\":1}"), 7)
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n0\r\n\r\n"), 50)
	f.Add([]byte("HTTP/1.1 429 Too Many Requests\r\nRetry-After: 2\r\nContent-Length: 0\r\n\r\n"), 3)
	f.Add([]byte("HTTP/1.0 200 OK\n\n{}"), 18)
	f.Fuzz(func(t *testing.T, b []byte, cut int) {
		run := func(cuts []int) (pollRecord, string) {
			var rec pollRecord
			p := newTestPollParser(&rec)
			err := feedCut(p, string(b), cuts, rec.data)
			if err == nil {
				err = p.eof()
			}
			return rec, fmt.Sprint(err)
		}
		whole, werr := run(nil)
		split, serr := run([]int{cut})
		if fmt.Sprint(whole) != fmt.Sprint(split) || werr != serr {
			t.Fatalf("whole: %q, %s; cut at %d: %q, %s", whole, werr, cut, split, serr)
		}
	})
}
