package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"
)

// subscriber is one native SSE stream read straight off a TCP connection.
type subscriber struct {
	conn    net.Conn
	r       *bufio.Reader
	hist    Histogram
	lastSeq uint64
	got     uint64
	dups    uint64
	skip    bool // the frame being read repeats an event: do not count it
}

func dialSubscriber(ctx context.Context, u *url.URL, local net.Addr, key, topic string) (*subscriber, error) {
	d := net.Dialer{LocalAddr: local, Timeout: 10 * time.Second}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(conn, "GET /v1/stream?topics=%s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nAccept: text/event-stream\r\n\r\n",
		url.QueryEscape(topic), u.Host, key)
	r := bufio.NewReaderSize(conn, 4096)
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		conn.Close()
		return nil, fmt.Errorf("stream answered %s", resp.Status)
	}
	// The body is chunked: reading lines through resp.Body would allocate;
	// bufio over the chunked reader keeps it to one 4 KiB buffer.
	conn.SetReadDeadline(time.Time{})
	return &subscriber{conn: conn, r: bufio.NewReaderSize(resp.Body, 4096)}, nil
}

var (
	idPrefix   = []byte("id: ")
	dataPrefix = []byte("data: ")
	sentMarker = []byte(`"t":`)
)

// run reads events until the connection closes, recording each one's
// latency (now − the send time it carries) and checking the sequence.
func (s *subscriber) run(delivered *atomic.Uint64) {
	for {
		line, err := s.r.ReadSlice('\n')
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
		switch {
		case bytes.HasPrefix(line, idPrefix):
			seq, _ := strconv.ParseUint(string(bytes.TrimSpace(line[len(idPrefix):])), 10, 64)
			s.skip = seq <= s.lastSeq
			if s.skip {
				s.dups++
				continue
			}
			s.lastSeq = seq
		case bytes.HasPrefix(line, dataPrefix) && !s.skip:
			i := bytes.Index(line, sentMarker)
			if i < 0 {
				continue
			}
			rest := line[i+len(sentMarker):]
			j := 0
			for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
				j++
			}
			sent, _ := strconv.ParseInt(string(rest[:j]), 10, 64)
			s.hist.Add(time.Since(time.Unix(0, sent)))
			s.got++
			delivered.Add(1)
		}
	}
}
