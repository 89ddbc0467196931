package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/herald-io/herald/client"
)

// allTopics is every topic, the private Zulip namespace included (which
// a pattern starting with a wildcard never matches; naming it takes an
// admin key or one scoped to it).
var allTopics = []string{">", "zulip.>"}

// ExportCmd writes events as NDJSON.
type ExportCmd struct {
	After  *uint64  `help:"Export the events after this position (default: from the earliest still stored)." placeholder:"SEQ"`
	Topics []string `sep:"," help:"Topic filters (default: every topic, Zulip's included: >,zulip.>)." placeholder:"FILTER,…"`
	Output string   `short:"o" help:"File to write, whole or not at all (default: standard output)." placeholder:"FILE"`

	IO cmdIO `kong:"-"`
}

// Run pages through the log with the native long-poll (without waiting)
// until a page comes back empty: the end of the log as it was then.
func (c *ExportCmd) Run(ctx context.Context, g *Globals) error {
	cl, err := newClient(g)
	if err != nil {
		return err
	}
	out, commit, err := c.open()
	if err != nil {
		return err
	}
	defer out.Close()
	w := bufio.NewWriterSize(out, 256<<10)
	n, first, last, err := export(ctx, cl, c.poll(), w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = commit()
	}
	if err != nil {
		return fmt.Errorf("%w (after %d events)", err, n)
	}
	summary := fmt.Sprintf("exported %d events", n)
	if n > 0 {
		summary += fmt.Sprintf(" (%d to %d)", first, last)
	}
	fmt.Fprintln(c.IO.stderr(), summary)
	return nil
}

func (c *ExportCmd) poll() client.PollOptions {
	o := client.PollOptions{Topics: c.Topics, After: c.After, Earliest: c.After == nil, Limit: client.MaxPublish}
	if len(o.Topics) == 0 {
		o.Topics = allTopics
	}
	return o
}

// open returns where the export goes and how to make it final: a
// temporary file renamed over --output at the end, or standard output.
func (c *ExportCmd) open() (io.WriteCloser, func() error, error) {
	if c.Output == "" || c.Output == "-" {
		return nopWriteCloser{c.IO.stdout()}, func() error { return nil }, nil
	}
	f, err := os.CreateTemp(filepath.Dir(c.Output), "."+filepath.Base(c.Output)+".partial-*")
	if err != nil {
		return nil, nil, err
	}
	commit := func() error {
		if err := f.Sync(); err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		return os.Rename(f.Name(), c.Output)
	}
	return removeOnClose{f}, commit, nil
}

// export writes every event opts selects, one JSON line each.
func export(ctx context.Context, cl *client.Client, opts client.PollOptions, w io.Writer) (n int, first, last uint64, err error) {
	err = eachEvent(ctx, cl, opts, func(e client.Event) error {
		if err := writeJSONLine(w, e); err != nil {
			return err
		}
		if n == 0 {
			first = e.Seq
		}
		n, last = n+1, e.Seq
		return nil
	})
	return n, first, last, err
}

// eachEvent calls fn for each event opts selects, reading a page at a time
// (bounded memory) until a page comes back empty.
func eachEvent(ctx context.Context, cl *client.Client, opts client.PollOptions, fn func(client.Event) error) error {
	for {
		evs, next, err := cl.Poll(ctx, opts)
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			return nil
		}
		for _, e := range evs {
			if err := fn(e); err != nil {
				return err
			}
		}
		opts.Earliest, opts.After = false, &next
	}
}

// ImportCmd appends the events of an export.
type ImportCmd struct {
	File     string `arg:"" help:"NDJSON from herald export (or herald tail --format json); - reads standard input, which is not checked before publishing." placeholder:"FILE|-"`
	Progress string `default:"auto" enum:"auto,always,never" help:"Progress bar on stderr: auto shows it on a terminal once importing takes over a second."`

	IO cmdIO `kong:"-"`
}

// Run checks every line of the file (a bad one stops the import before
// anything is stored), reads the ids the server already holds, and
// publishes the others in the file's order, with their ids. The engine
// deduplicates ids for two minutes only; the ids read first make a second
// import of the same file, at any later time, store nothing.
func (c *ImportCmd) Run(ctx context.Context, g *Globals) error {
	if c.File != "-" {
		f, err := os.Open(c.File)
		if err != nil {
			return err
		}
		err = readNDJSON(f, client.MaxPublish, func(batch) bool { return true })
		f.Close()
		if err != nil {
			return fmt.Errorf("%w; nothing was imported", err)
		}
	}
	cl, err := newClient(g)
	if err != nil {
		return err
	}
	known, err := storedIDs(ctx, cl)
	if err != nil {
		return fmt.Errorf("read the ids already stored: %w", err)
	}
	pc := PublishCmd{File: c.File, Batch: client.MaxPublish, Concurrency: 1, Progress: c.Progress, IO: c.IO,
		keep: func(d client.Draft) bool {
			k := idKey(d.ID)
			if _, ok := known[k]; ok {
				return false
			}
			known[k] = struct{}{} // a repeated line is stored once too
			return true
		}}
	return pc.publishFile(ctx, cl)
}

// idKey is an id's digest: the set of stored ids costs 16 bytes an event,
// whatever the ids' length.
func idKey(id string) [16]byte {
	s := sha256.Sum256([]byte(id))
	return [16]byte(s[:16])
}

// storedIDs reads the ids of every event the server holds.
func storedIDs(ctx context.Context, cl *client.Client) (map[[16]byte]struct{}, error) {
	known := map[[16]byte]struct{}{}
	opts := client.PollOptions{Topics: allTopics, Earliest: true, Limit: client.MaxPublish}
	err := eachEvent(ctx, cl, opts, func(e client.Event) error {
		known[idKey(e.ID)] = struct{}{}
		return nil
	})
	return known, err
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// removeOnClose is a temporary file that Close removes unless it was
// renamed (Close after the rename fails harmlessly).
type removeOnClose struct{ *os.File }

func (r removeOnClose) Close() error {
	r.File.Close()
	os.Remove(r.File.Name())
	return nil
}
