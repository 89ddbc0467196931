package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/herald-io/herald/internal/eventlog"
)

// ErrNotEmpty means the engine already holds herald's state, which a
// restore would replace.
var ErrNotEmpty = errors.New("the engine already holds herald's state")

// RestoreOptions configure Restore.
type RestoreOptions struct {
	// Force replaces herald's streams the engine holds; without it a
	// restore into an engine that has any is refused (ErrNotEmpty).
	Force bool
	// Replicas, if > 0, replaces the replica count the streams were
	// backed up with (an embedded server's backup restored to a cluster).
	Replicas int
	// Progress, if set, is told how many snapshot bytes of total were sent.
	Progress func(done, total int64)
}

// Restore creates herald's streams from the archive at path. It reads the
// archive twice: once to check all of it (a bad archive changes nothing),
// then to restore. If a stream fails to restore, the streams this restore
// created are deleted again, so the engine is left without herald's state
// (with Force, the replaced state is gone by then).
func Restore(ctx context.Context, eng *eventlog.Engine, path string, opts RestoreOptions) (Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return Manifest{}, fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	m, err := Verify(f)
	if err != nil {
		return Manifest{}, err
	}
	if m.Log != eng.Log {
		return Manifest{}, fmt.Errorf("backup: the archive's log is the stream %s, this herald's is %s", m.Log, eng.Log)
	}
	existing, err := eng.Streams(ctx)
	if err != nil {
		return Manifest{}, fmt.Errorf("backup: %w", err)
	}
	if names := heraldStreams(existing, eng.Log); len(names) > 0 {
		if !opts.Force {
			return Manifest{}, fmt.Errorf("backup: %w (%s)", ErrNotEmpty, strings.Join(names, ", "))
		}
		for _, n := range names {
			if err := eng.Delete(ctx, n); err != nil {
				return Manifest{}, fmt.Errorf("backup: replace: %w", err)
			}
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return Manifest{}, fmt.Errorf("backup: %w", err)
	}
	if err := restoreAll(ctx, eng, f, m, opts); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

func restoreAll(ctx context.Context, eng *eventlog.Engine, r io.Reader, want Manifest, opts RestoreOptions) (err error) {
	var created []string
	defer func() {
		if err == nil {
			return
		}
		// Leave no half of a state behind. A fresh context: ctx may be
		// what ended.
		for _, n := range created {
			if derr := eng.Delete(context.WithoutCancel(ctx), n); derr != nil {
				err = errors.Join(err, derr)
			}
		}
	}()
	ar, err := NewReader(r)
	if err != nil {
		return err
	}
	if !sameStreams(ar.Manifest, want) {
		return badf("the archive changed while it was restored")
	}
	total, sent := want.Bytes(), int64(0)
	for {
		s, rd, err := ar.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		created = append(created, s.Name)
		pr := &progressReader{r: rd, report: func(n int64) {
			if opts.Progress != nil {
				opts.Progress(sent+n, total)
			}
		}}
		st, err := eng.Restore(ctx, s.Snapshot, opts.Replicas, pr)
		if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		sent += s.Size
		if st.LastSeq != s.LastSeq || st.Messages != s.Messages {
			return fmt.Errorf("backup: restored %s holds %d messages up to %d, the archive %d up to %d",
				s.Name, st.Messages, st.LastSeq, s.Messages, s.LastSeq)
		}
	}
}

// sameStreams reports whether two manifests list the same snapshots.
func sameStreams(a, b Manifest) bool {
	if len(a.Streams) != len(b.Streams) {
		return false
	}
	for i := range a.Streams {
		if a.Streams[i].Name != b.Streams[i].Name || a.Streams[i].SHA256 != b.Streams[i].SHA256 {
			return false
		}
	}
	return true
}

type progressReader struct {
	r      io.Reader
	n      int64
	report func(int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	p.report(p.n)
	return n, err
}
