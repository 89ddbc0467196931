package backup

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
)

// kvPrefix names the streams of herald's KV buckets: every bucket herald
// keeps is named herald-<what>, and bucket B is the stream KV_B.
const kvPrefix = "KV_herald-"

// CreateOptions configure Create.
type CreateOptions struct {
	// Dir holds the archive while it is made (a temporary directory is
	// made in it and removed by Archive.Close); it needs room for the
	// archive and the largest stream's snapshot.
	Dir    string
	Herald string // this herald's version, for the manifest
	// Skip names buckets not to back up: state that belongs to running
	// processes (the node registry), not to the data.
	Skip []string
	Now  func() time.Time
}

// Archive is a finished archive on disk.
type Archive struct {
	*os.File // positioned at the start
	Manifest Manifest
	Size     int64
	dir      string
}

// Close closes and removes the archive.
func (a *Archive) Close() error {
	err := a.File.Close()
	if rerr := os.RemoveAll(a.dir); err == nil {
		err = rerr
	}
	return err
}

// Create snapshots herald's streams — every KV bucket, then the log — into
// an archive file. The buckets come first so that the log's snapshot is
// the latest: the state a crash leaves (the log ahead of the state derived
// from it, which herald repairs as it starts), never cursors or Hue
// resources past the end of the log.
func Create(ctx context.Context, eng *eventlog.Engine, opts CreateOptions) (_ *Archive, err error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	streams, err := eng.Streams(ctx)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	names := selectStreams(streams, eng.Log, opts.Skip)
	if len(names) == 0 || names[len(names)-1] != eng.Log {
		return nil, fmt.Errorf("backup: the engine has no stream %s: nothing to back up", eng.Log)
	}
	dir, err := os.MkdirTemp(opts.Dir, ".backup-")
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	m := Manifest{Format: Format, Herald: opts.Herald, Created: opts.Now().UTC(), Log: eng.Log}
	for _, name := range names {
		s, err := spool(ctx, eng, name, filepath.Join(dir, name+snapshotExt))
		if err != nil {
			return nil, err
		}
		m.Streams = append(m.Streams, s)
	}
	f, err := os.Create(filepath.Join(dir, "backup.tar"))
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	a := &Archive{File: f, Manifest: m, dir: dir}
	if err := a.assemble(); err != nil {
		f.Close()
		return nil, err
	}
	return a, nil
}

// assemble writes the archive from the spooled snapshots, removing each
// once it is in, and rewinds the file.
func (a *Archive) assemble() error {
	bw := bufio.NewWriterSize(a.File, 1<<20)
	w, err := NewWriter(bw, a.Manifest)
	if err != nil {
		return err
	}
	for _, s := range a.Manifest.Streams {
		path := filepath.Join(a.dir, s.Name+snapshotExt)
		sf, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		err = w.Add(sf)
		sf.Close()
		if err != nil {
			return err
		}
		os.Remove(path)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	size, err := a.File.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	a.Size = size
	if _, err := a.File.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// spool writes one stream's snapshot to path and describes it.
func spool(ctx context.Context, eng *eventlog.Engine, name, path string) (Stream, error) {
	f, err := os.Create(path)
	if err != nil {
		return Stream{}, fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	cw := &countingWriter{w: bw}
	snap, err := eng.Snapshot(ctx, name, cw)
	if err != nil {
		return Stream{}, fmt.Errorf("backup: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return Stream{}, fmt.Errorf("backup: %w", err)
	}
	if err := f.Close(); err != nil {
		return Stream{}, fmt.Errorf("backup: %w", err)
	}
	return Stream{Snapshot: snap, File: snapshotFile(name), Size: cw.n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// selectStreams picks herald's streams from the engine's: its KV buckets
// (but those in skip) by name, then the log.
func selectStreams(streams []eventlog.StreamInfo, log string, skip []string) []string {
	var kv []string
	hasLog := false
	for _, s := range streams {
		switch {
		case s.Name == log:
			hasLog = true
		case strings.HasPrefix(s.Name, kvPrefix) && !slices.Contains(skip, strings.TrimPrefix(s.Name, "KV_")):
			kv = append(kv, s.Name)
		}
	}
	slices.Sort(kv)
	if hasLog {
		kv = append(kv, log)
	}
	return kv
}

// heraldStreams are the streams of the engine a restore would replace.
func heraldStreams(streams []eventlog.StreamInfo, log string) []string {
	var out []string
	for _, s := range streams {
		if s.Name == log || strings.HasPrefix(s.Name, kvPrefix) {
			out = append(out, s.Name)
		}
	}
	return out
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
