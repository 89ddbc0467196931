package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/herald-io/herald/internal/backup"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/server"
)

// BackupCmd downloads the whole state of a running server.
type BackupCmd struct {
	File     string `arg:"" help:"Archive to write (a tar file); written whole or not at all." placeholder:"FILE"`
	Progress string `default:"auto" enum:"auto,always,never" help:"Progress bar on stderr: auto shows it on a terminal."`

	IO cmdIO `kong:"-"`
}

// Run fetches GET /v1/backup into a temporary file beside FILE, checks
// the archive, and only then renames it to FILE.
func (c *BackupCmd) Run(ctx context.Context, g *Globals) error {
	req, err := adminRequest(ctx, g, http.MethodGet, "/v1/backup", nil)
	if err != nil {
		return err
	}
	hc, err := httpClient(g)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return answerError(resp, b)
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.File), "."+filepath.Base(c.File)+".partial-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	defer tmp.Close()
	bar := c.bar(resp.ContentLength, "backup")
	n, err := io.Copy(io.MultiWriter(tmp, bar), resp.Body)
	bar.Finish()
	switch {
	case err != nil:
		return fmt.Errorf("download cut after %d bytes: %w", n, err)
	case resp.ContentLength >= 0 && n != resp.ContentLength:
		return fmt.Errorf("download cut after %d of %d bytes", n, resp.ContentLength)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	m, err := backup.Verify(tmp)
	if err != nil {
		return fmt.Errorf("the server sent a bad archive: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), c.File); err != nil {
		return err
	}
	fmt.Fprintf(c.IO.stderr(), "backed up %s: %s\n", c.File, describeArchive(m, n))
	return nil
}

func (c *BackupCmd) bar(total int64, what string) *progressbar.ProgressBar {
	return byteBar(c.IO.stderr(), total, what, c.Progress)
}

// RestoreCmd restores an archive into a stopped server's data directory
// (or an external cluster no herald is running on).
type RestoreCmd struct {
	File     string   `arg:"" help:"Archive made by herald backup." placeholder:"FILE"`
	NATS     []string `name:"nats" env:"HERALD_NATS" sep:"," help:"Restore into this external NATS cluster instead of <data>/engine." placeholder:"URL"`
	Replicas int      `default:"0" help:"Replicas of the restored streams (default: as backed up); for a cluster, as herald serve --replicas."`
	Force    bool     `help:"Replace the state the target already holds (it is deleted first)."`
	Progress string   `default:"auto" enum:"auto,always,never" help:"Progress bar on stderr: auto shows it on a terminal."`

	IO cmdIO `kong:"-"`
}

// Run checks the whole archive, then restores it. The server must not be
// running on the data directory: the engine would have two writers.
func (c *RestoreCmd) Run(ctx context.Context, g *Globals) error {
	if _, err := os.Stat(c.File); err != nil {
		return err
	}
	cfg := eventlog.Config{URLs: c.NATS}
	target := strings.Join(c.NATS, ",")
	if len(c.NATS) == 0 {
		cfg.Dir = server.EngineDir(g.Data)
		target = g.Data
	}
	eng, err := eventlog.OpenEngine(cfg)
	if err != nil {
		return err
	}
	defer eng.Close()
	var bar *progressbar.ProgressBar
	m, err := backup.Restore(ctx, eng, c.File, backup.RestoreOptions{
		Force: c.Force, Replicas: c.Replicas,
		Progress: func(done, total int64) {
			if bar == nil {
				bar = byteBar(c.IO.stderr(), total, "restore", c.Progress)
			}
			bar.Set64(done)
		},
	})
	if bar != nil {
		bar.Finish()
	}
	if errors.Is(err, backup.ErrNotEmpty) {
		return fmt.Errorf("%w; stop herald, and restore into a new --data directory, or pass --force to replace what is there", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.IO.stderr(), "restored %s into %s: %s\n", c.File, target, describeArchive(m, m.Bytes()))
	return nil
}

// describeArchive sums an archive up in one line.
func describeArchive(m backup.Manifest, size int64) string {
	log := m.Streams[len(m.Streams)-1]
	events := fmt.Sprintf("%d events", log.Messages)
	if log.Messages > 0 {
		events += fmt.Sprintf(" (%d to %d)", log.FirstSeq, log.LastSeq)
	}
	return fmt.Sprintf("%s and %d state buckets, %s, made %s by herald %s",
		events, len(m.Streams)-1, humanBytes(size), m.Created.Local().Format(time.DateTime), m.Herald)
}

// byteBar is a progress bar of bytes on w, visible by mode (auto: when w
// is a terminal); an invisible one accepts the same calls.
func byteBar(w io.Writer, total int64, what, mode string) *progressbar.ProgressBar {
	visible := mode == "always" || mode == "auto" && isTerminal(w)
	if total <= 0 {
		total = -1 // unknown
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetVisibility(visible),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
}

// humanBytes renders n with a binary unit, for people.
func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
