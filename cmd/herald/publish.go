package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-io/herald/client"
	"github.com/herald-io/herald/internal/topic"
)

// Limits of NDJSON publishing.
const (
	// maxRequestBytes keeps a batch's body under the server's 1 MiB limit,
	// with room for the array's brackets and commas.
	maxRequestBytes = 1<<20 - 4<<10
	// maxTypeLen is the native API's limit on an event type, checked here
	// so that the error can name the line.
	maxTypeLen = 128
	// maxAttempts bounds the tries of one batch: 10 tries with backoff from
	// 100 ms doubling to 5 s ride out about half a minute of trouble.
	maxAttempts     = 10
	firstRetryDelay = 100 * time.Millisecond
	maxRetryDelay   = 5 * time.Second
	progressEvery   = 200 * time.Millisecond
	// progressAfter keeps small inputs from flashing a progress bar: in
	// auto mode it appears only once publishing has taken this long.
	progressAfter = time.Second
)

// PublishCmd publishes one event given by flags, or many from NDJSON.
type PublishCmd struct {
	Topic string `help:"Topic of the event, e.g. app.door.front." placeholder:"TOPIC"`
	Type  string `help:"Type of the event (server default: event)." placeholder:"TYPE"`
	// Not --data: that is the global data directory flag.
	Payload string `short:"d" help:"Payload (data) of the event, JSON." placeholder:"JSON"`
	ID      string `help:"Id of the event: the server stores an id it has seen within minutes only once." placeholder:"ID"`

	File        string `short:"f" help:"Publish the events of an NDJSON file, one {\"topic\",\"type\",\"data\",\"id\"} object per line; - reads standard input." placeholder:"FILE|-"`
	Batch       int    `default:"500" help:"Events per request when publishing NDJSON (at most 1000)."`
	Concurrency int    `default:"4" help:"Requests in flight when publishing NDJSON; 1 keeps the input's order in the log."`
	Acks        bool   `help:"Print each acknowledgement as a JSON line when publishing NDJSON (in completion order)."`
	Progress    string `default:"auto" enum:"auto,always,never" help:"Progress bar on stderr when publishing NDJSON: auto shows it on a terminal once publishing takes over a second."`

	IO cmdIO `kong:"-"`
	// keep, if set, says which events of the file to publish (import: those
	// the server does not hold yet); the others count as already stored.
	keep func(client.Draft) bool
}

// Run publishes and prints the acknowledgement (one event) or a summary
// (NDJSON).
func (c *PublishCmd) Run(ctx context.Context, g *Globals) error {
	switch {
	case c.File == "" && c.Topic == "":
		return errors.New("give --topic for one event, or --file with NDJSON events")
	case c.File != "" && (c.Topic != "" || c.Type != "" || c.Payload != "" || c.ID != ""):
		return errors.New("--file takes the events from the file; --topic, --type, --payload and --id are for one event")
	case c.Batch < 1 || c.Batch > client.MaxPublish:
		return fmt.Errorf("--batch must be 1..%d", client.MaxPublish)
	case c.Concurrency < 1:
		return errors.New("--concurrency must be at least 1")
	case strings.HasPrefix(strings.TrimSpace(g.Data), "{") || strings.HasPrefix(strings.TrimSpace(g.Data), "["):
		// --data is the global data directory; a JSON payload given there
		// would otherwise be dropped without a word.
		return errors.New("--data is the data directory; give the event's payload with --payload (-d)")
	}
	cl, err := newClient(g)
	if err != nil {
		return err
	}
	if c.File == "" {
		return c.publishOne(ctx, cl)
	}
	return c.publishFile(ctx, cl)
}

func (c *PublishCmd) publishOne(ctx context.Context, cl *client.Client) error {
	d := client.Draft{Topic: c.Topic, Type: c.Type, ID: c.ID}
	if c.Payload != "" {
		if !json.Valid([]byte(c.Payload)) {
			return fmt.Errorf("--payload is not valid JSON: %s", c.Payload)
		}
		d.Data = json.RawMessage(c.Payload)
	}
	if d.ID == "" {
		d.ID = client.NewID() // a retry then cannot store the event twice
	}
	stderr := c.IO.stderr()
	// One event from a command line: a server that does not answer is
	// said at once, one that asks to wait is waited for.
	acks, err := publishRetrying(ctx, cl, []client.Draft{d}, false, func(err error, wait time.Duration) {
		fmt.Fprintf(stderr, "%v; retrying in %s\n", err, wait)
	})
	if err != nil {
		return err
	}
	return writeJSONLine(c.IO.stdout(), acks[0])
}

// publishFile reads NDJSON and publishes it in batches with several
// requests in flight. Every event gets an id before its first try, so a
// retried batch is deduplicated by the server: nothing is lost and nothing
// stored twice. A bad line stops the run: the events before it are
// published, none after.
func (c *PublishCmd) publishFile(ctx context.Context, cl *client.Client) error {
	in, size, err := c.openInput()
	if err != nil {
		return err
	}
	defer in.Close()

	b := &bulk{cl: cl}
	if c.Acks {
		b.acks = c.IO.stdout()
	}
	stderr := c.IO.stderr()
	b.status = newProgress(stderr, size, b, c.Progress == "always" || c.Progress == "auto" && isTerminal(stderr))
	start := time.Now()
	b.status.start(c.Progress == "auto")

	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	batches := make(chan batch)
	var wg sync.WaitGroup
	for range c.Concurrency {
		wg.Go(func() {
			for {
				select {
				case bt, ok := <-batches:
					if !ok {
						return
					}
					if err := b.send(wctx, bt); err != nil {
						cancel(err)
						return
					}
				case <-wctx.Done():
					return
				}
			}
		})
	}
	readDone := make(chan error, 1)
	go func() {
		defer close(batches)
		readDone <- readNDJSON(in, c.Batch, func(bt batch) bool {
			if c.keep != nil {
				n := len(bt.drafts)
				bt.drafts = slices.DeleteFunc(bt.drafts, func(d client.Draft) bool { return !c.keep(d) })
				b.events.Add(int64(n - len(bt.drafts)))
				b.dups.Add(int64(n - len(bt.drafts)))
			}
			select {
			case batches <- bt:
				return true
			case <-wctx.Done():
				return false
			}
		})
	}()
	var readErr error
	select {
	case readErr = <-readDone:
	case <-wctx.Done():
		// Interrupted, or a batch failed for good. A read from an idle
		// terminal or pipe cannot be interrupted; the process is about to
		// exit, so the reader is left behind rather than making the user
		// wait for more input.
	}
	wg.Wait()
	b.status.stop(readErr == nil && wctx.Err() == nil)

	n, dups := b.events.Load(), b.dups.Load()
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("interrupted after %d events were acknowledged; requests in flight may or may not have been stored: %w", n, ctx.Err())
	case wctx.Err() != nil:
		return fmt.Errorf("%w (%d events were acknowledged before)", context.Cause(wctx), n)
	case readErr != nil:
		return fmt.Errorf("%w (the %d events before it were published, none after)", readErr, n)
	}
	elapsed := time.Since(start)
	summary := fmt.Sprintf("published %d events in %s (%.0f events/s)", n, elapsed.Round(time.Millisecond), float64(n)/max(elapsed.Seconds(), 1e-9))
	if dups > 0 {
		summary += fmt.Sprintf("; %d of them were already stored", dups)
	}
	fmt.Fprintln(stderr, summary)
	return nil
}

// openInput opens --file ("-" for standard input) and returns its size
// when it is a regular file (0 otherwise), for the progress bar.
func (c *PublishCmd) openInput() (io.ReadCloser, int64, error) {
	if c.File == "-" {
		in := c.IO.stdin()
		return io.NopCloser(in), regularSize(in), nil
	}
	f, err := os.Open(c.File)
	if err != nil {
		return nil, 0, err
	}
	return f, regularSize(f), nil
}

func regularSize(r io.Reader) int64 {
	f, ok := r.(*os.File)
	if !ok {
		return 0
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return 0
	}
	return fi.Size()
}

// batch is one request's worth of events.
type batch struct {
	drafts      []client.Draft
	first, last int   // input line numbers, for messages
	bytes       int64 // input bytes the batch covers, blank lines included
}

// readNDJSON parses in into batches of at most maxEvents events and
// maxRequestBytes encoded bytes and hands them to emit, which reports
// false when publishing has stopped. A bad line ends reading with an
// error naming it, after the batch before it was emitted.
func readNDJSON(in io.Reader, maxEvents int, emit func(batch) bool) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), maxRequestBytes)
	var b batch
	var size int // encoded bytes of b
	flush := func() bool {
		if len(b.drafts) == 0 {
			return true
		}
		ok := emit(b)
		b, size = batch{}, 0
		return ok
	}
	line := 0
	for sc.Scan() {
		line++
		raw := sc.Bytes()
		n := int64(len(raw)) + 1 // with its newline
		text := bytes.TrimSpace(raw)
		if len(text) == 0 {
			b.bytes += n
			continue
		}
		d, err := parseEvent(text)
		if err != nil {
			flush()
			return fmt.Errorf("line %d: %w", line, err)
		}
		enc := encodedSize(d)
		if enc > maxRequestBytes {
			flush()
			return fmt.Errorf("line %d: the event is %d bytes encoded; a request carries at most %d", line, enc, maxRequestBytes)
		}
		if len(b.drafts) == maxEvents || size+enc+1 > maxRequestBytes {
			if !flush() {
				return nil
			}
		}
		if len(b.drafts) == 0 {
			b.first = line
		}
		b.drafts = append(b.drafts, d)
		b.last = line
		b.bytes += n
		size += enc + 1
	}
	if err := sc.Err(); err != nil {
		flush()
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("line %d: longer than %d bytes", line+1, maxRequestBytes)
		}
		return fmt.Errorf("read input: %w", err)
	}
	flush()
	return nil
}

// ndjsonEvent is one line of NDJSON input: the native API's event object.
// The position and time of a stored event (herald export, tail --format
// json) are accepted and not sent: the log assigns its own.
type ndjsonEvent struct {
	Topic string          `json:"topic"`
	Type  string          `json:"type"`
	Data  json.RawMessage `json:"data"`
	ID    string          `json:"id"`
	Seq   *uint64         `json:"seq"`
	Time  *time.Time      `json:"time"`
}

// parseEvent checks one line as the server would, so that an error can
// name the line instead of failing a whole batch later, and gives the event
// an id if it has none.
func parseEvent(line []byte) (client.Draft, error) {
	if line[0] != '{' {
		return client.Draft{}, errors.New("not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields() // a misspelt field is an error, not a loss
	var e ndjsonEvent
	if err := dec.Decode(&e); err != nil {
		return client.Draft{}, fmt.Errorf("not a valid event: %w", err)
	}
	if dec.More() {
		return client.Draft{}, errors.New("more than one JSON value on the line")
	}
	if err := topic.Validate(e.Topic); err != nil {
		return client.Draft{}, fmt.Errorf("topic %q: %w", e.Topic, err)
	}
	if len(e.Type) > maxTypeLen {
		return client.Draft{}, fmt.Errorf("type is longer than %d bytes", maxTypeLen)
	}
	if e.ID == "" {
		e.ID = client.NewID() // a retry then cannot store the event twice
	}
	return client.Draft{Topic: e.Topic, Type: e.Type, Data: e.Data, ID: e.ID}, nil
}

// encodedSize is the length of d in a request body.
func encodedSize(d client.Draft) int {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // as the client encodes
	if err := enc.Encode(d); err != nil {
		return maxRequestBytes + 1
	}
	return buf.Len() - 1 // without the newline
}

// bulk is the state of one NDJSON publish shared by its workers.
type bulk struct {
	cl     *client.Client
	acks   io.Writer // where acknowledgements go; nil for nowhere
	ackMu  sync.Mutex
	status *progress
	events atomic.Int64 // acknowledged events
	dups   atomic.Int64 // of which the server already had
	bytes  atomic.Int64 // input bytes of acknowledged batches
}

// send publishes one batch, retrying what may succeed later with the same
// ids (see publishRetrying).
func (b *bulk) send(ctx context.Context, bt batch) error {
	if len(bt.drafts) == 0 { // all of it kept out
		b.bytes.Add(bt.bytes)
		return nil
	}
	acks, err := publishRetrying(ctx, b.cl, bt.drafts, true, func(err error, wait time.Duration) {
		b.status.printf("lines %d-%d: %v; retrying in %s\n", bt.first, bt.last, err, wait)
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("lines %d-%d: %w", bt.first, bt.last, err)
	}
	b.record(bt, acks)
	return nil
}

// publishRetrying publishes ds, retrying what may succeed later (429, 5xx,
// and with network also failures to reach the server) up to maxAttempts
// times, waiting at least as long as the server's Retry-After; retrying is
// told each wait. The drafts must carry ids, so that a retry of a publish
// whose answer was lost does not store its events twice.
func publishRetrying(ctx context.Context, cl *client.Client, ds []client.Draft, network bool, retrying func(error, time.Duration)) ([]client.Ack, error) {
	delay := firstRetryDelay
	for attempt := 1; ; attempt++ {
		acks, err := cl.Publish(ctx, ds...)
		if err == nil || ctx.Err() != nil {
			return acks, err
		}
		var ae *client.APIError
		answered := errors.As(err, &ae)
		if answered && !ae.Temporary() || !answered && !network || attempt == maxAttempts {
			return nil, err
		}
		wait := delay
		if ae != nil && ae.RetryAfter > wait {
			wait = ae.RetryAfter
		}
		retrying(err, wait)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
		delay = min(2*delay, maxRetryDelay)
	}
}

func (b *bulk) record(bt batch, acks []client.Ack) {
	var dups int64
	for _, a := range acks {
		if a.Duplicate {
			dups++
		}
	}
	b.dups.Add(dups)
	b.events.Add(int64(len(acks)))
	b.bytes.Add(bt.bytes)
	if b.acks == nil {
		return
	}
	b.ackMu.Lock()
	defer b.ackMu.Unlock()
	for _, a := range acks {
		writeJSONLine(b.acks, a)
	}
}

// writeJSONLine writes v as one line of JSON.
func writeJSONLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// progress draws a one-line progress bar on stderr, redrawn in place, and
// prints other messages without garbling it.
type progress struct {
	w       io.Writer
	total   int64 // input bytes; 0 when unknown (a pipe)
	b       *bulk
	enabled bool
	began   time.Time

	mu    sync.Mutex
	shown int // length of the line on screen; 0 for none
	quit  chan struct{}
	done  chan struct{}
}

func newProgress(w io.Writer, total int64, b *bulk, enabled bool) *progress {
	return &progress{w: w, total: total, b: b, enabled: enabled, quit: make(chan struct{}), done: make(chan struct{})}
}

// start begins drawing, at once or, if delayed, after progressAfter.
func (p *progress) start(delayed bool) {
	p.began = time.Now()
	if !p.enabled {
		close(p.done)
		return
	}
	go func() {
		defer close(p.done)
		if delayed {
			t := time.NewTimer(progressAfter)
			select {
			case <-t.C:
			case <-p.quit:
				t.Stop()
				return
			}
		}
		tick := time.NewTicker(progressEvery)
		defer tick.Stop()
		for {
			p.draw(false)
			select {
			case <-tick.C:
			case <-p.quit:
				return
			}
		}
	}()
}

// stop ends drawing; a bar that was shown is drawn a last time and left on
// its own line.
func (p *progress) stop(complete bool) {
	close(p.quit)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown > 0 {
		p.drawLocked(complete)
		fmt.Fprintln(p.w)
		p.shown = 0
	}
}

// printf prints a message on its own line, above the bar.
func (p *progress) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown > 0 {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.shown))
		p.shown = 0
	}
	fmt.Fprintf(p.w, format, args...)
}

func (p *progress) draw(complete bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drawLocked(complete)
}

func (p *progress) drawLocked(complete bool) {
	line := p.line(complete)
	pad := max(p.shown-len(line), 0)
	fmt.Fprintf(p.w, "\r%s%s", line, strings.Repeat(" ", pad))
	p.shown = len(line)
}

// line renders the bar: with a known input size a bar and a percentage,
// otherwise just the count; and the rate either way.
func (p *progress) line(complete bool) string {
	n := p.b.events.Load()
	rate := float64(n) / max(time.Since(p.began).Seconds(), 1e-9)
	if p.total <= 0 {
		return fmt.Sprintf("%d events  %.0f events/s", n, rate)
	}
	frac := min(float64(p.b.bytes.Load())/float64(p.total), 1)
	if complete {
		frac = 1 // trailing blank lines belong to no batch
	}
	const width = 30
	full := int(frac * width)
	return fmt.Sprintf("[%s%s] %3.0f%%  %d events  %.0f events/s",
		strings.Repeat("=", full), strings.Repeat(" ", width-full), frac*100, n, rate)
}
