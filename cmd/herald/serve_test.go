package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A retention age below the engine's dedupe window stops herald before it
// touches anything, with one line that names the flag and the minimum.
func TestServeRejectsShortRetention(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	_, stderr, code := herald(t, "--data", data, "--http", "127.0.0.1:0", "--https", "", "--retention-age", "1m")
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	msg := strings.TrimSuffix(stderr, "\n")
	if strings.Contains(msg, "\n") || strings.Count(msg, "herald:") != 1 || !strings.HasPrefix(msg, "herald: ") ||
		strings.Count(msg, "--retention-age") != 1 || !strings.Contains(msg, "minimum of 2m0s") {
		t.Errorf("stderr %q; want one line \"herald: \" naming --retention-age and its minimum of 2m0s", stderr)
	}
	if _, err := os.Stat(data); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the data directory exists after the refusal (%v)", err)
	}
}
