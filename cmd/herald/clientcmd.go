package main

import (
	"io"
	"os"

	"github.com/herald-io/herald/client"
	"github.com/herald-io/herald/internal/buildinfo"
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
	base, key, err := serverAndKey(g)
	if err != nil {
		return nil, err
	}
	hc, err := httpClient(g)
	if err != nil {
		return nil, err
	}
	return client.New(base, key, client.WithUserAgent(userAgent()), client.WithHTTPClient(hc)), nil
}

// serverAndKey are the base URL and the key (adminKey) the flags name.
func serverAndKey(g *Globals) (base, key string, err error) {
	if base, err = baseURL(g); err != nil {
		return "", "", err
	}
	if key, err = adminKey(g); err != nil {
		return "", "", err
	}
	return base, key, nil
}

// userAgent is the User-Agent of the client commands' requests.
func userAgent() string { return "herald-cli/" + buildinfo.Read().Version }
