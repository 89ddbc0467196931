package loadgen

import (
	"fmt"
	"io"
)

// maxChunkLine bounds a chunk-size line (extensions included) and a
// trailer line: a longer one is not a server's framing but garbage.
const maxChunkLine = 4096

// bodyFraming is how an answer's body ends.
type bodyFraming uint8

const (
	framingUntilClose bodyFraming = iota // the connection's end ends it
	framingLength                        // after Content-Length bytes
	framingChunked                       // Transfer-Encoding: chunked
)

// chunkState is where a chunked body's parser is in its framing.
type chunkState uint8

const (
	chunkSize         chunkState = iota // the hex digits of a chunk-size line
	chunkSizeSpace                      // whitespace after the digits
	chunkExt                            // extensions, up to the line's end
	chunkSizeLF                         // the LF after the size line's CR
	chunkData                           // the chunk's data
	chunkDataCR                         // the CR (or bare LF) after the data
	chunkDataLF                         // the LF after the data's CR
	chunkTrailerStart                   // the start of a trailer line, or the final empty line
	chunkTrailer                        // inside a trailer line
	chunkTrailerLF                      // the LF of the final empty line
	chunkEnd                            // the body has ended
)

// bodyParser is a push parser of an HTTP/1.1 answer body: it is fed the
// bytes as they are read, in any pieces, and hands the body's data to a
// function in pieces of those same bytes, without copying. It lets a
// reactor read many connections into one buffer, where a pull parser
// (httpConn.streamBody) needs a goroutine and a buffer per connection. Its
// state is a few words, kept across feeds, so a size line may span reads.
type bodyParser struct {
	framing bodyFraming
	state   chunkState
	left    int64 // data bytes left in the chunk or the Content-Length body
	digits  int   // hex digits of the chunk size read so far
	line    int   // bytes of the current size or trailer line
}

// newBodyParser returns a parser of the body of the answer whose head is h.
func newBodyParser(h respHead) *bodyParser {
	p := bodyParserFor(h)
	return &p
}

// bodyParserFor is newBodyParser's parser as a value, for a parser that
// reads one answer after another (pollParser).
func bodyParserFor(h respHead) bodyParser {
	switch {
	case h.chunked: // it takes precedence over a Content-Length
		return bodyParser{framing: framingChunked, state: chunkSize}
	case h.length >= 0:
		return bodyParser{framing: framingLength, left: h.length}
	}
	return bodyParser{framing: framingUntilClose}
}

// ended reports whether the body has ended by its own framing.
func (p *bodyParser) ended() bool {
	switch p.framing {
	case framingChunked:
		return p.state == chunkEnd
	case framingLength:
		return p.left == 0
	}
	return false
}

// feed parses b, which continues what the previous feeds saw, and hands the
// body's data in it to data. It reports whether the body has ended (any
// bytes after its end are ignored), or an error wrapping errMalformed.
func (p *bodyParser) feed(b []byte, data func([]byte)) (end bool, err error) {
	_, end, err = p.consume(b, data)
	return end, err
}

// consume is feed that also says how many bytes of b the body took: fewer
// than len(b) only if the body ended in b.
func (p *bodyParser) consume(b []byte, data func([]byte)) (n int, end bool, err error) {
	switch p.framing {
	case framingUntilClose:
		if len(b) > 0 {
			data(b)
		}
		return len(b), false, nil
	case framingLength:
		k := min(int64(len(b)), p.left)
		if k > 0 {
			data(b[:k])
			p.left -= k
		}
		return int(k), p.left == 0, nil
	}
	return p.consumeChunked(b, data)
}

// consumeChunked is consume for Transfer-Encoding: chunked (RFC 9112,
// section 7.1). Bare LFs are accepted where CRLF is due, as
// httpConn.streamBody does.
func (p *bodyParser) consumeChunked(b []byte, data func([]byte)) (int, bool, error) {
	n := len(b)
	for len(b) > 0 {
		if p.state == chunkData {
			k := min(int64(len(b)), p.left)
			data(b[:k])
			b = b[k:]
			if p.left -= k; p.left == 0 {
				p.state = chunkDataCR
			}
			continue
		}
		if p.state == chunkEnd {
			break
		}
		c := b[0]
		b = b[1:]
		if err := p.step(c); err != nil {
			return n - len(b), false, err
		}
	}
	return n - len(b), p.state == chunkEnd, nil
}

// step advances the chunked framing by one byte outside a chunk's data.
func (p *bodyParser) step(c byte) error {
	switch p.state {
	case chunkSize, chunkSizeSpace, chunkExt, chunkTrailer:
		if p.line++; p.line > maxChunkLine {
			return fmt.Errorf("chunked body: a line over %d bytes: %w", maxChunkLine, errMalformed)
		}
	}
	switch p.state {
	case chunkSize:
		if d, ok := hexDigit(c); ok {
			if p.digits == 15 { // over 2⁶⁰ bytes
				return fmt.Errorf("chunked body: chunk size too large: %w", errMalformed)
			}
			p.left = p.left<<4 | int64(d)
			p.digits++
			return nil
		}
		if p.digits == 0 {
			return fmt.Errorf("chunked body: chunk size %q: %w", c, errMalformed)
		}
		return p.afterSize(c)
	case chunkSizeSpace:
		return p.afterSize(c)
	case chunkExt:
		if c == '\n' {
			p.sizeLineDone()
		}
	case chunkSizeLF:
		if c != '\n' {
			return fmt.Errorf("chunked body: CR without LF in a chunk-size line: %w", errMalformed)
		}
		p.sizeLineDone()
	case chunkDataCR:
		switch c {
		case '\r':
			p.state = chunkDataLF
		case '\n':
			p.nextChunk()
		default:
			return fmt.Errorf("chunked body: no CRLF after a chunk's data: %w", errMalformed)
		}
	case chunkDataLF:
		if c != '\n' {
			return fmt.Errorf("chunked body: no CRLF after a chunk's data: %w", errMalformed)
		}
		p.nextChunk()
	case chunkTrailerStart:
		switch c {
		case '\r':
			p.state = chunkTrailerLF
		case '\n':
			p.state = chunkEnd
		default:
			p.state, p.line = chunkTrailer, 1
		}
	case chunkTrailer:
		if c == '\n' {
			p.state = chunkTrailerStart
		}
	case chunkTrailerLF:
		if c != '\n' {
			return fmt.Errorf("chunked body: CR without LF after the trailers: %w", errMalformed)
		}
		p.state = chunkEnd
	}
	return nil
}

// afterSize takes byte c after a chunk size's digits: whitespace, the
// extensions' ';' or the line's end.
func (p *bodyParser) afterSize(c byte) error {
	switch c {
	case ' ', '\t':
		p.state = chunkSizeSpace
	case ';':
		p.state = chunkExt
	case '\r':
		p.state = chunkSizeLF
	case '\n':
		p.sizeLineDone()
	default:
		return fmt.Errorf("chunked body: %q after the chunk size: %w", c, errMalformed)
	}
	return nil
}

// sizeLineDone starts the chunk whose size line was just read, or the
// trailers after the last chunk.
func (p *bodyParser) sizeLineDone() {
	p.line, p.digits = 0, 0
	if p.left == 0 {
		p.state = chunkTrailerStart
		return
	}
	p.state = chunkData
}

// nextChunk expects the next chunk-size line.
func (p *bodyParser) nextChunk() {
	p.state, p.left, p.digits, p.line = chunkSize, 0, 0, 0
}

// eof is the body's fate when the connection ends after what was fed: nil
// if it ended cleanly, an error if it was cut short.
func (p *bodyParser) eof() error {
	if p.framing == framingUntilClose || p.ended() {
		return nil
	}
	return fmt.Errorf("the connection ended inside the body: %w", io.ErrUnexpectedEOF)
}

// hexDigit returns the value of the hex digit c.
func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= lower(c) && lower(c) <= 'f':
		return lower(c) - 'a' + 10, true
	}
	return 0, false
}
