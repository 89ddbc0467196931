// Package backup moves herald's whole state — the log and every KV bucket
// of state (keys, cursors, faults, each dialect's) — between engines as one
// archive of the engine's own stream snapshots (eventlog.Engine), and moves
// events alone as NDJSON through the native API (Export, Import).
//
// The archive is a tar file: manifest.json first (format, herald version,
// time, and per stream its configuration, state, size and SHA-256), then
// streams/<stream>.snapshot for each stream the manifest lists, in its
// order. Reading checks every entry against the manifest, so a truncated or
// altered archive is refused before a restore changes anything.
package backup

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
)

// Format is the archive format this package writes and reads.
const Format = 1

// ErrBadArchive means a file is not a herald backup, or not a whole one.
var ErrBadArchive = errors.New("not a valid herald backup")

const (
	manifestName = "manifest.json"
	maxManifest  = 16 << 20 // bytes: a manifest lists a few streams
	streamDir    = "streams/"
	snapshotExt  = ".snapshot"
)

// Manifest describes an archive.
type Manifest struct {
	Format  int       `json:"format"`
	Herald  string    `json:"herald"` // version of the herald that wrote it
	Created time.Time `json:"created"`
	Log     string    `json:"log"` // the log's stream; the others are KV buckets
	Streams []Stream  `json:"streams"`
}

// Stream is one stream's snapshot in the archive.
type Stream struct {
	eventlog.Snapshot
	File   string `json:"file"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Bytes is the size of all snapshots together (what a restore sends).
func (m Manifest) Bytes() int64 {
	var n int64
	for _, s := range m.Streams {
		n += s.Size
	}
	return n
}

func snapshotFile(stream string) string { return streamDir + stream + snapshotExt }

func badf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadArchive, fmt.Sprintf(format, args...))
}

// parseManifest decodes and checks a manifest.
func parseManifest(b []byte) (Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, badf("manifest: %v", err)
	}
	if dec.More() {
		return Manifest{}, badf("manifest: trailing data")
	}
	if m.Format != Format {
		return Manifest{}, badf("format %d; this herald reads format %d", m.Format, Format)
	}
	seen := map[string]bool{}
	for i, s := range m.Streams {
		switch {
		case s.Name == "" || strings.ContainsAny(s.Name, "/\\. *>\x00"):
			return Manifest{}, badf("stream %d: name %q", i, s.Name)
		case seen[s.Name]:
			return Manifest{}, badf("stream %s listed twice", s.Name)
		case s.File != snapshotFile(s.Name):
			return Manifest{}, badf("stream %s: file %q", s.Name, s.File)
		case s.Size < 0:
			return Manifest{}, badf("stream %s: size %d", s.Name, s.Size)
		case len(s.SHA256) != sha256.Size*2:
			return Manifest{}, badf("stream %s: sha256 %q", s.Name, s.SHA256)
		case len(s.Config) == 0:
			return Manifest{}, badf("stream %s: no configuration", s.Name)
		}
		seen[s.Name] = true
	}
	if !seen[m.Log] {
		return Manifest{}, badf("the log's stream %q is not in the archive", m.Log)
	}
	return m, nil
}

// Writer writes an archive: the manifest, then each stream's snapshot in
// the manifest's order.
type Writer struct {
	tw   *tar.Writer
	m    Manifest
	next int
}

// NewWriter writes m's entry to w; each snapshot follows with Add.
func NewWriter(w io.Writer, m Manifest) (*Writer, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if _, err := parseManifest(b); err != nil {
		return nil, fmt.Errorf("backup: write: %w", err) // a bug: never write what cannot be read
	}
	tw := tar.NewWriter(w)
	if err := writeEntry(tw, manifestName, int64(len(b)), m.Created, strings.NewReader(string(b))); err != nil {
		return nil, err
	}
	return &Writer{tw: tw, m: m}, nil
}

// Add writes the next stream's snapshot, which must be its manifest's size.
func (w *Writer) Add(r io.Reader) error {
	if w.next >= len(w.m.Streams) {
		return errors.New("backup: write: more snapshots than the manifest lists")
	}
	s := w.m.Streams[w.next]
	w.next++
	return writeEntry(w.tw, s.File, s.Size, w.m.Created, r)
}

// Close ends the archive; every stream must have been added.
func (w *Writer) Close() error {
	if w.next != len(w.m.Streams) {
		return fmt.Errorf("backup: write: %d of %d snapshots", w.next, len(w.m.Streams))
	}
	return w.tw.Close()
}

func writeEntry(tw *tar.Writer, name string, size int64, mod time.Time, r io.Reader) error {
	hdr := &tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: mod, Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("backup: write %s: %w", name, err)
	}
	if n, err := io.Copy(tw, r); err != nil || n != size {
		return fmt.Errorf("backup: write %s: %d of %d bytes: %v", name, n, size, err)
	}
	return nil
}

// Reader reads an archive, checking each entry against the manifest.
type Reader struct {
	Manifest Manifest
	tr       *tar.Reader
	next     int
	cur      *entry
}

// NewReader reads the manifest, the archive's first entry.
func NewReader(r io.Reader) (*Reader, error) {
	tr := tar.NewReader(r)
	hdr, err := tr.Next()
	if err != nil {
		return nil, badf("not a tar archive (%v)", err)
	}
	if hdr.Name != manifestName {
		return nil, badf("the first entry is %q, not %s", hdr.Name, manifestName)
	}
	if hdr.Size > maxManifest {
		return nil, badf("manifest of %d bytes", hdr.Size)
	}
	b, err := io.ReadAll(tr)
	if err != nil {
		return nil, badf("manifest: %v", err)
	}
	m, err := parseManifest(b)
	if err != nil {
		return nil, err
	}
	return &Reader{Manifest: m, tr: tr}, nil
}

// Next returns the next stream and a reader of its snapshot, which fails
// with ErrBadArchive at its end if the bytes are not the manifest's. After
// the last stream it returns io.EOF, once it checked that nothing follows.
func (r *Reader) Next() (Stream, io.Reader, error) {
	if r.cur != nil && !r.cur.done {
		// The caller stopped early: the rest must still be checked.
		if _, err := io.Copy(io.Discard, r.cur); err != nil {
			return Stream{}, nil, err
		}
	}
	hdr, err := r.tr.Next()
	if r.next == len(r.Manifest.Streams) {
		if errors.Is(err, io.EOF) {
			return Stream{}, nil, io.EOF
		}
		if err == nil {
			return Stream{}, nil, badf("unexpected entry %q after the last stream", hdr.Name)
		}
		return Stream{}, nil, badf("after the last stream: %v", err)
	}
	s := r.Manifest.Streams[r.next]
	switch {
	case errors.Is(err, io.EOF):
		return Stream{}, nil, badf("it ends before %s (truncated?)", s.File)
	case err != nil:
		return Stream{}, nil, badf("before %s: %v (truncated?)", s.File, err)
	case hdr.Name != s.File || hdr.Typeflag != tar.TypeReg:
		return Stream{}, nil, badf("entry %q where the manifest lists %s", hdr.Name, s.File)
	case hdr.Size != s.Size:
		return Stream{}, nil, badf("%s holds %d bytes, the manifest says %d", s.File, hdr.Size, s.Size)
	}
	r.next++
	r.cur = &entry{r: r.tr, s: s, h: sha256.New()}
	return s, r.cur, nil
}

// entry reads one snapshot and checks its length and digest at the end.
type entry struct {
	r    io.Reader
	s    Stream
	h    hash.Hash
	n    int64
	done bool
}

func (e *entry) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	e.h.Write(p[:n])
	e.n += int64(n)
	if errors.Is(err, io.EOF) {
		e.done = true
		if e.n != e.s.Size {
			return n, badf("%s ends after %d of %d bytes (truncated?)", e.s.File, e.n, e.s.Size)
		}
		if hex.EncodeToString(e.h.Sum(nil)) != e.s.SHA256 {
			return n, badf("%s does not match its checksum", e.s.File)
		}
		return n, io.EOF
	}
	if err != nil {
		e.done = true
		return n, badf("%s: %v (truncated?)", e.s.File, err)
	}
	return n, nil
}

// Verify reads a whole archive and returns its manifest if every entry
// is there and intact.
func Verify(r io.Reader) (Manifest, error) {
	ar, err := NewReader(r)
	if err != nil {
		return Manifest{}, err
	}
	for {
		_, rd, err := ar.Next()
		if errors.Is(err, io.EOF) {
			return ar.Manifest, nil
		}
		if err != nil {
			return Manifest{}, err
		}
		if _, err := io.Copy(io.Discard, rd); err != nil {
			return Manifest{}, err
		}
	}
}
