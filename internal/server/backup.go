package server

import (
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/herald-io/herald/internal/backup"
	"github.com/herald-io/herald/internal/dialect"
)

// EngineDir is where the embedded engine keeps its files under a data
// directory (what `herald restore` restores into).
func EngineDir(dataDir string) string { return filepath.Join(dataDir, "engine") }

// backupArchive answers GET /v1/backup: the whole state of a running
// server as one archive (internal/backup), made while it goes on serving.
// The archive is made on disk under the data directory before the first
// byte is sent, so the answer has its length (a client shows a percentage)
// and an engine error is an error status, never a truncated archive; and
// the engine, which gives up on a reader that does not keep up, is read by
// the disk, not by a slow client.
func (s *Server) backupArchive(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	a, err := backup.Create(r.Context(), s.eventLog.Engine(), backup.CreateOptions{
		Dir:    s.cfg.DataDir,
		Herald: s.cfg.Build.Version,
		Skip:   []string{nodesBucket},
	})
	if err != nil {
		return &dialect.Problem{Kind: dialect.Unavailable, RetryAfter: 5 * time.Second,
			Message: "the backup could not be made; retry shortly", Err: err}
	}
	defer a.Close()
	name := "herald-backup-" + a.Manifest.Created.Format("20060102T150405Z") + ".tar"
	w.Header().Set("Content-Type", "application/x-tar")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Content-Length", strconv.FormatInt(a.Size, 10))
	w.Header().Set("Cache-Control", "no-store")
	if _, err := io.Copy(w, a); err != nil {
		s.log.Debug("backup: client went away", "err", err)
	}
	return nil
}
