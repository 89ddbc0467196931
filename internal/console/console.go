// Package console is herald's embedded web console: a handful of static
// files (one HTML page, a style sheet, JavaScript modules and an icon)
// compiled into the binary and served at /console/, with herald's
// JavaScript client (client/js) below /console/lib/herald/: every call the
// page makes goes through that client.
//
// The files hold no data and need no credential. The operator signs in in
// the browser with a herald key, which the page keeps in sessionStorage and
// sends as "Authorization: Bearer" on every call it makes to herald's own
// authenticated API (/v1/events, /v1/stream, /v1/subscriptions, /v1/keys,
// /v1/cluster, /v1/stats/history, /v1/routes, /v1/webhooks, /v1/connectors,
// /v1/faults, the dialects' /v1/… admin endpoints,
// /readyz). The console therefore adds no endpoint and no way around a
// key's scopes: what a key may not do through the API, it may not do
// through the console. The one file made at run time, config.json, says
// what the page cannot know and holds no secret (see Config).
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	jsclient "github.com/herald-io/herald/client/js"
)

// Path is where the console is served; "/console" redirects here.
const Path = "/console/"

// ClientPath is where below Path the JavaScript client's modules
// (client/js) are served: the console's own modules import it from there.
const ClientPath = "lib/herald/"

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
	".txt":  "text/plain; charset=utf-8", // the vendored libraries' licences
}

// file is one embedded file, ready to serve.
type file struct {
	body        []byte
	contentType string
	etag        string
}

// files maps a path below Path ("index.html", "js/app.js",
// "lib/herald/index.js") to its file.
var files = mustLoad(static, jsclient.Files)

func mustLoad(fsys, client fs.FS) map[string]file {
	m, err := load(fsys)
	if err != nil {
		panic(err)
	}
	if err := loadClient(m, client); err != nil {
		panic(err)
	}
	return m
}

func newFile(b []byte, contentType string) file {
	sum := sha256.Sum256(b)
	return file{body: b, contentType: contentType, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
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
		m[strings.TrimPrefix(p, "static/")] = newFile(b, ct)
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

// loadClient adds the client's modules below ClientPath. Only its .js
// files: its index.d.ts is for editors, not for a page.
func loadClient(m map[string]file, client fs.FS) error {
	return fs.WalkDir(client, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".js" {
			return err
		}
		b, err := fs.ReadFile(client, p)
		if err != nil {
			return err
		}
		m[ClientPath+p] = newFile(b, contentTypes[".js"])
		return nil
	})
}

// Config is what the server tells the page about itself, served as
// /console/config.json. Nothing in it is a secret: the page is public.
type Config struct {
	// AdminKeyPath is the file the admin key is kept in (under --data),
	// which the sign-in form names.
	AdminKeyPath string `json:"admin_key_path"`
}

// Mount registers the console on mux at /console/ and /console.
func Mount(mux *http.ServeMux, cfg Config) {
	h := Handler(cfg)
	mux.Handle(strings.TrimSuffix(Path, "/"), h)
	mux.Handle(Path, h)
}

// Handler serves the console: /console redirects to /console/, which
// serves the page; /console/<file> serves that file (and config.json,
// cfg); anything else below it is 404. Every answer carries the security
// headers (see setSecurityHeaders).
func Handler(cfg Config) http.Handler {
	b, err := json.Marshal(cfg)
	if err != nil {
		panic(err) // strings only: cannot happen
	}
	h := handler{files: make(map[string]file, len(files)+1)}
	for name, f := range files {
		h.files[name] = f
	}
	h.files["config.json"] = newFile(append(b, '\n'), "application/json")
	return h
}

// handler serves the embedded files plus config.json.
type handler struct{ files map[string]file }

func (h handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
	f, ok := h.files[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", f.contentType)
	hdr.Set("ETag", f.etag)
	// Revalidate every time (a 304 when unchanged): after an upgrade the
	// page and its modules must not mix versions from the cache.
	hdr.Set("Cache-Control", "no-cache")
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
