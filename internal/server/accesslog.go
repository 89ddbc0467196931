package server

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/herald-io/herald/internal/reqlog"
)

// writeAccess writes a request's access-log line. The middleware
// (middleware.go) gives every request an id, echoed in the X-Request-Id
// header (the id an internal error's answer shows), and has this line
// written when it ends: method, path, status, bytes, duration, key,
// dialect, remote address, request id. A stream the delivery engine takes
// over from net/http is written when the stream ends (see reqlog), so its
// duration and bytes are the stream's.
//
// The path is logged without its query string, which may hold a
// credential (access_token), and without the value of a {key} wildcard,
// which is one (Hue's /api/<app key>/config).
func (s *Server) writeAccess(e *reqlog.Entry, path string, status int, bytes int64) {
	// The record is made here rather than by Logger.LogAttrs, which
	// would look up its caller's program counter for every line: herald
	// never logs the source.
	ctx := context.Background()
	h := s.accessLogger.Handler()
	if !h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	now := time.Now()
	rec := slog.NewRecord(now, slog.LevelInfo, "request", 0)
	rec.AddAttrs(
		slog.String("method", e.Method), slog.String("path", path), slog.Int("status", status),
		slog.Int64("bytes", bytes), slog.Duration("duration", now.Sub(e.Start)),
		slog.String("key", e.Key), slog.String("dialect", e.Dialect),
		slog.String("remote", e.Remote), slog.String("request_id", e.ID))
	_ = h.Handle(ctx, rec) // as Logger does: a log that fails is not the request's error
}

// redactKey replaces the value of r's {key} wildcard in path.
func redactKey(path string, r *http.Request) string {
	if k := r.PathValue("key"); k != "" {
		return strings.Replace(path, "/"+k, "/REDACTED", 1)
	}
	return path
}

// SetAccessLog turns the access log on or off (Config.AccessLog) while
// serving.
func (s *Server) SetAccessLog(on bool) { s.accessOn.Store(on) }

// SetRate changes the default rate limit of keys without a rate of their
// own (Config.RateLimit, RateBurst), from their next request on.
func (s *Server) SetRate(perSecond float64, burst int) { s.auth.SetRate(perSecond, burst) }

// Rate returns the default rate limit in effect.
func (s *Server) Rate() (perSecond float64, burst int) { return s.auth.Rate() }
