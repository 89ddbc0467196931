// Package servertest runs a real herald server inside a test process, on a
// temporary data directory and a loopback port that stays the same across
// restarts (so a client can reconnect to the same URL).
package servertest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/server"
)

// Server is a herald under test.
type Server struct {
	T   testing.TB
	Cfg server.Config
	Srv *server.Server // nil while stopped
	// Admin is the admin token made on first start; it stays valid across restarts.
	Admin string
}

// Start starts a server (DataDir and HTTPAddr default to a temporary
// directory and a free loopback port); it is stopped when the test ends.
func Start(t testing.TB, cfg server.Config) *Server {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = "127.0.0.1:0"
	}
	s := &Server{T: t, Cfg: cfg}
	s.Start()
	s.Admin = s.Srv.AdminKey()
	// Pin the port so that a restart comes back at the same URL.
	s.Cfg.HTTPAddr = strings.TrimPrefix(s.Srv.URL, "http://")
	t.Cleanup(s.Stop)
	return s
}

// Start starts the server again after Stop.
func (s *Server) Start() {
	s.T.Helper()
	srv, err := server.Start(context.Background(), s.Cfg)
	if err != nil {
		s.T.Fatalf("start server: %v", err)
	}
	s.Srv = srv
}

// Stop shuts the server down gracefully; its data stays.
func (s *Server) Stop() {
	if s.Srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Srv.Shutdown(ctx); err != nil {
		s.T.Errorf("shutdown: %v", err)
	}
	s.Srv = nil
}

// Restart stops and starts the server on the same data and port.
func (s *Server) Restart() {
	s.T.Helper()
	s.Stop()
	s.Start()
}

// URL is the base URL; it stays the same across restarts.
func (s *Server) URL() string { return "http://" + s.Cfg.HTTPAddr }
