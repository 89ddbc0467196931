package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/herald-io/herald/client"
)

// cmdIO holds the streams a client command reads and writes. Tests set
// them; nil means the process's own.
type cmdIO struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

func (o cmdIO) stdin() io.Reader {
	if o.Stdin == nil {
		return os.Stdin
	}
	return o.Stdin
}

func (o cmdIO) stdout() io.Writer {
	if o.Stdout == nil {
		return os.Stdout
	}
	return o.Stdout
}

func (o cmdIO) stderr() io.Writer {
	if o.Stderr == nil {
		return os.Stderr
	}
	return o.Stderr
}

// isTerminal reports whether w is a terminal (a character device), where
// a redrawn progress line makes sense; a file or pipe would only collect
// the redraws.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// newClient returns a client for the server and key the global flags name.
// Without --key it uses the admin key the server wrote to <data>/admin.key,
// which is what a local operator wants.
func newClient(g *Globals) (*client.Client, error) {
	key := g.Key
	if key == "" {
		path := filepath.Join(g.Data, "admin.key")
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no key: pass --key or set HERALD_KEY (there is no admin key at %s)", path)
		}
		if err != nil {
			return nil, fmt.Errorf("read admin key: %w", err)
		}
		if key = strings.TrimSpace(string(b)); key == "" {
			return nil, fmt.Errorf("admin key file %s is empty", path)
		}
	}
	return client.New(g.URL, key, client.WithUserAgent("herald-cli/"+versionString())), nil
}
