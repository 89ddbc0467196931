// Package logtest is a log sink for tests: safe for the goroutines of the
// code under test, and read back as JSON records (slog's JSON handler).
package logtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// Buffer collects what a logger writes.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// New returns a buffer and a JSON logger (at debug) writing to it.
func New() (*Buffer, *slog.Logger) {
	b := &Buffer{}
	return b, slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Records returns the JSON records with the message msg, in order; a line
// that is not a JSON object fails the test.
func (b *Buffer) Records(t testing.TB, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", sc.Text(), err)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// Wait returns the first record with message msg that match accepts, once
// it has been written (code under test may log after answering).
func (b *Buffer) Wait(t testing.TB, msg string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, m := range b.Records(t, msg) {
			if match(m) {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no matching %q record in:\n%s", msg, b.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
