package server_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// sseEvent is one dispatched Server-Sent Event; Data is valid until the
// next event.
type sseEvent struct {
	ID, Event string
	Data      []byte
}

// readSSE reads Server-Sent Events from r and calls fn with each one the
// way EventSource dispatches them: at the blank line that ends it, so an
// event cut off in the middle is never seen (and a client resumes before
// it). It returns fn's error, or the reader's at its end (io.EOF).
func readSSE(r io.Reader, fn func(sseEvent) error) error {
	br := bufio.NewReaderSize(r, 256<<10)
	var ev sseEvent
	var data []byte // the data lines, each with its newline
	hasData := false
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return fmt.Errorf("an SSE line longer than %d bytes", br.Size())
		}
		if err != nil {
			return err
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if len(line) == 0 {
			if hasData {
				ev.Data = data[:len(data)-1] // without the last line's newline
				if err := fn(ev); err != nil {
					return err
				}
			}
			ev, data, hasData = sseEvent{}, data[:0], false
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "id":
			ev.ID = string(value)
		case "event":
			ev.Event = string(value)
		case "data":
			data, hasData = append(append(data, value...), '\n'), true
		}
	}
}

// nativeSeq checks a native stream's event: its id is the seq its data
// starts with.
func nativeSeq(e sseEvent) (uint64, error) {
	seq, err := strconv.ParseUint(e.ID, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("event id %q: %v", e.ID, err)
	}
	if !bytes.HasPrefix(e.Data, []byte(`{"seq":`+e.ID+`,`)) {
		return 0, fmt.Errorf("event %s carries %.40q", e.ID, e.Data)
	}
	return seq, nil
}

// errDone ends a readSSE that got what it waited for.
var errDone = errors.New("done")

// openSSE opens a native stream with the key; the caller closes the body.
func openSSE(ctx context.Context, t testing.TB, client *http.Client, url, key, lastID string) io.ReadCloser {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return resp.Body
}

// scrape returns the samples of a server's /metrics, by name and labels as
// the exposition format prints them.
func scrape(t testing.TB, base, key string) map[string]string {
	t.Helper()
	_, _, b := request(t, nil, "GET", base+"/metrics", http.Header{"Authorization": {"Bearer " + key}}, "", nil)
	out := map[string]string{}
	for line := range strings.Lines(string(b)) {
		if line = strings.TrimSpace(line); line == "" || line[0] == '#' {
			continue
		}
		if i := strings.LastIndexByte(line, ' '); i > 0 {
			out[line[:i]] = line[i+1:]
		}
	}
	return out
}
