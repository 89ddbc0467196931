package loadgen

import (
	"bytes"
	"fmt"
	"time"
)

// maxHead bounds an answer's head (status line and headers) as a
// pollParser reads it: a longer one is not a server's answer but garbage.
const maxHead = 8 << 10

// pollDialect is what a long-poll receiver knows of its API: where the
// next poll asks from, given the answer to the last one.
type pollDialect interface {
	// next appends to target the request target of the poll that follows
	// a 200 answer with body, or says why there is none.
	next(target, body []byte) ([]byte, error)
}

// pollParser reads a long-poll receiver's connection as a stream of
// answers, each to the poll sent before it, and sends the next poll as
// each answer ends: a 200's body goes to the account whole, and the
// dialect says what the next poll asks for; a 429 or 503 sends the same
// poll again as the server asks; any other answer ends the stream. Being a
// streamParser, it lets a reactor read thousands of waiting polls, as it
// reads streams, instead of a goroutine each blocked in a read.
type pollParser struct {
	dialect   pollDialect
	path      string // for errors: the API's path, without the query
	host      string
	header    string // request header lines, each ending in CRLF
	send      func([]byte) error
	sendAfter func(time.Duration, []byte) error

	req    []byte // the poll last sent, reused
	target []byte // its target, reused
	head   respHead
	inBody bool
	line   []byte // the head line read so far (not in the head)
	size   int    // bytes of the head read so far
	body   bodyParser
	data   []byte // the body read so far, reused
	over   bool   // the body went over maxBody
	keep   func([]byte)
	scan   func([]byte) // the last feed's data, for a body that eof ends
	// acc, if set, counts the polls answered and the answers that held
	// events (its requests and batches), on the goroutine that feeds.
	acc *account
}

func newPollParser(d pollDialect, path, host, header string, send func([]byte) error, sendAfter func(time.Duration, []byte) error) *pollParser {
	p := &pollParser{dialect: d, path: path, host: host, header: header, send: send, sendAfter: sendAfter}
	p.keep = p.keepBody // bound once: a method value made per feed would be allocated each time
	p.head.length = -1
	return p
}

// start makes the poll for target the first, and returns its request.
func (p *pollParser) start(target []byte) []byte {
	p.target = append(p.target[:0], target...)
	return p.request()
}

// request formats the poll for p.target into p.req, which is sent again
// when the server asks to retry.
func (p *pollParser) request() []byte {
	p.req = appendRequest(p.req[:0], "GET", p.target, p.host, p.header, nil)
	return p.req
}

// feed parses b, which continues what the previous feeds saw.
func (p *pollParser) feed(b []byte, data func([]byte)) (bool, error) {
	p.scan = data
	for len(b) > 0 {
		if p.inBody {
			n, end, err := p.body.consume(b, p.keep)
			if err == nil && p.over {
				err = fmt.Errorf("GET %s: answer body over %d bytes", p.path, maxBody)
			}
			if err != nil {
				return false, err
			}
			b = b[n:]
			if !end {
				return false, nil
			}
			if len(b) > 0 { // the next poll is not sent yet: nothing may follow
				return false, fmt.Errorf("GET %s: bytes after the answer: %w", p.path, errMalformed)
			}
			return false, p.answered(data)
		}
		i := bytes.IndexByte(b, '\n')
		k := len(b)
		if i >= 0 {
			k = i + 1
		}
		if p.size += k; p.size > maxHead {
			return false, fmt.Errorf("GET %s: answer head over %d bytes: %w", p.path, maxHead, errMalformed)
		}
		p.line = append(p.line, b[:k]...)
		b = b[k:]
		if i < 0 {
			return false, nil
		}
		if err := p.headLine(); err != nil {
			return false, err
		}
		if !p.inBody || p.head.hasBody() && !p.body.ended() {
			continue
		}
		// The head ended the answer: no body, or an empty one.
		if len(b) > 0 {
			return false, fmt.Errorf("GET %s: bytes after the answer: %w", p.path, errMalformed)
		}
		return false, p.answered(data)
	}
	return false, nil
}

// headLine takes the head line just read whole.
func (p *pollParser) headLine() error {
	line := p.line
	p.line = p.line[:0]
	if p.size == len(line) { // the status line
		h, err := parseStatusLine(line)
		if err != nil {
			return fmt.Errorf("GET %s: %w", p.path, err)
		}
		p.head = h
		return nil
	}
	line = bytes.TrimRight(line, "\r\n")
	if len(line) > 0 {
		if err := p.head.headerLine(line); err != nil {
			return fmt.Errorf("GET %s: %w", p.path, err)
		}
		return nil
	}
	p.inBody = true
	p.body = bodyParserFor(p.head)
	p.data, p.over = p.data[:0], false
	return nil
}

func (p *pollParser) keepBody(b []byte) {
	if len(p.data)+len(b) > maxBody {
		p.over = true
		return
	}
	p.data = append(p.data, b...)
}

// answered acts on the answer just read whole and readies the parser for
// the next: it hands a 200's body to data and sends the next poll, or the
// same one after the wait a 429 or 503 asks for.
func (p *pollParser) answered(data func([]byte)) error {
	h, body := p.head, p.data
	p.head, p.inBody, p.size = respHead{length: -1}, false, 0
	if p.acc != nil {
		p.acc.requests++
	}
	if wait, again := retryable(h); again {
		if h.close {
			return p.closed()
		}
		return p.sendAfter(wait, p.req)
	}
	if h.status != 200 {
		return &statusError{method: "GET", path: p.path, status: h.status, body: bytes.Clone(body)}
	}
	p.hand(body, data)
	next, err := p.dialect.next(p.target[:0], body)
	if err != nil {
		return fmt.Errorf("GET %s: %w", p.path, err)
	}
	p.target = next
	if h.close {
		return p.closed()
	}
	return p.send(p.request())
}

// hand hands a 200's body to data, counting it a batch if it held events.
func (p *pollParser) hand(body []byte, data func([]byte)) {
	if p.acc == nil {
		data(body)
		return
	}
	before := p.acc.got + p.acc.dups
	data(body)
	if p.acc.got+p.acc.dups > before {
		p.acc.batches++
	}
}

func (p *pollParser) closed() error {
	return fmt.Errorf("GET %s: the server closed the connection", p.path)
}

// ended is always false: polls follow one another until the connection
// ends.
func (p *pollParser) ended() bool { return false }

// eof ends the stream with an error, since a receiver polls until it is
// closed; a body that lasts until the connection closes is handed on
// first, as the answer it is.
func (p *pollParser) eof() error {
	if p.inBody && p.body.framing == framingUntilClose && p.scan != nil {
		p.head.close = true
		return p.answered(p.scan) // an error: the answer's, the dialect's or closed's
	}
	return p.closed()
}
