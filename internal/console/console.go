// Package console is herald's embedded web console: a handful of static
// files (one HTML page, a style sheet, JavaScript modules and an icon)
// compiled into the binary and served at /console/.
//
// The files hold no data and need no credential. The operator signs in in
// the browser with a herald key, which the page keeps in sessionStorage and
// sends as "Authorization: Bearer" on every call it makes to herald's own
// authenticated API (/v1/events, /v1/stream, /v1/subscriptions, /v1/keys,
// /v1/cluster, /v1/hue/link, /readyz). The console therefore adds no
// endpoint and no way around a key's scopes: what a key may not do through
// the API, it may not do through the console.
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// Path is where the console is served; "/console" redirects here.
const Path = "/console/"

// static holds the console's files; static/index.html is the page.
//
//go:embed static
var static embed.FS

// contentTypes are the types of the files the console ships. A file with
// another extension is a mistake caught when the package loads (and by its
// tests), not something to guess at: a module script served with a wrong
// type is refused by the browser under nosniff.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
}

// file is one embedded file, ready to serve.
type file struct {
	body        []byte
	contentType string
	etag        string
}

// files maps a path below Path ("index.html", "js/app.js") to its file.
var files = mustLoad(static)

func mustLoad(fsys fs.FS) map[string]file {
	m, err := load(fsys)
	if err != nil {
		panic(err)
	}
	return m
}

// load reads every file under static/ and computes its content type and a
// strong ETag from its content, so browsers revalidate cheaply and pick up a
// new binary's files at once.
func load(fsys fs.FS) (map[string]file, error) {
	m := make(map[string]file)
	err := fs.WalkDir(fsys, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			return fmt.Errorf("console: %s: no content type for %q", p, path.Ext(p))
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		m[strings.TrimPrefix(p, "static/")] = file{body: b, contentType: ct, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, ok := m["index.html"]; !ok {
		return nil, fmt.Errorf("console: static/index.html is missing")
	}
	return m, nil
}

// Mount registers the console on mux at /console/ and /console.
func Mount(mux *http.ServeMux) {
	h := Handler()
	mux.Handle(strings.TrimSuffix(Path, "/"), h)
	mux.Handle(Path, h)
}

// Handler serves the console: /console redirects to /console/, which
// serves the page; /console/<file> serves that file; anything else below it
// is 404. Every answer carries the security headers (see setSecurityHeaders).
func Handler() http.Handler {
	return http.HandlerFunc(serve)
}

func serve(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Path+"/" == Path {
		// Relative references in the page (js/app.js) resolve against
		// the directory, so the page is only served with the slash.
		http.Redirect(w, r, Path, http.StatusMovedPermanently)
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if name == "" {
		name = "index.html"
	}
	f, ok := files[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("ETag", f.etag)
	// Revalidate every time (a 304 when unchanged): after an upgrade the
	// page and its modules must not mix versions from the cache.
	h.Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.body))
}

// Files returns the console's files (index.html, js/…), for tests and tools
// that check what is shipped.
func Files() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // "static" is a valid path: cannot happen
	}
	return sub
}
