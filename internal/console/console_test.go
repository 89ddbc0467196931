package console_test

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	jsclient "github.com/herald-io/herald/client/js"
	"github.com/herald-io/herald/internal/console"
)

func newMux() *http.ServeMux {
	mux := http.NewServeMux()
	console.Mount(mux, console.Config{AdminKeyPath: "/srv/herald/admin.key"})
	return mux
}

func get(t *testing.T, h http.Handler, method, path string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// checkSecurityHeaders checks the headers every console answer carries.
func checkSecurityHeaders(t *testing.T, path string, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: Content-Security-Policy %q lacks %q", path, csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-") {
		t.Errorf("%s: Content-Security-Policy %q allows unsafe sources", path, csp)
	}
	for name, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "no-referrer",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s: %s = %q, want %q", path, name, got, want)
		}
	}
}

func TestFilesAndContentTypes(t *testing.T) {
	mux := newMux()
	for path, want := range map[string]string{
		"/console/":              "text/html; charset=utf-8",
		"/console/index.html":    "text/html; charset=utf-8",
		"/console/console.css":   "text/css; charset=utf-8",
		"/console/js/app.js":     "text/javascript; charset=utf-8",
		"/console/js/follow.js":  "text/javascript; charset=utf-8",
		"/console/icon.svg":      "image/svg+xml",
		"/console/js/tail.js":    "text/javascript; charset=utf-8",
		"/console/js/cluster.js": "text/javascript; charset=utf-8",
	} {
		rec := get(t, mux, "GET", path)
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s: %d, want 200", path, rec.Code)
			continue
		}
		if got := rec.Header().Get("Content-Type"); got != want {
			t.Errorf("GET %s: Content-Type %q, want %q", path, got, want)
		}
		if rec.Body.Len() == 0 {
			t.Errorf("GET %s: empty body", path)
		}
		checkSecurityHeaders(t, path, rec.Header())
	}
}

// Every embedded file is served, with a type: a file added without a known
// extension would otherwise fail only in a browser.
func TestEveryEmbeddedFileIsServed(t *testing.T) {
	mux := newMux()
	n := 0
	err := fs.WalkDir(console.Files(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		rec := get(t, mux, "GET", console.Path+p)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") == "" {
			t.Errorf("GET %s%s: %d, Content-Type %q", console.Path, p, rec.Code, rec.Header().Get("Content-Type"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("only %d embedded files", n)
	}
}

// config.json tells the page what the server knows about itself and
// holds no secret: where the admin key is kept, for the sign-in hint.
func TestConfig(t *testing.T) {
	rec := get(t, newMux(), "GET", "/console/config.json")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /console/config.json: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var cfg struct {
		AdminKeyPath string `json:"admin_key_path"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &cfg); err != nil || cfg.AdminKeyPath != "/srv/herald/admin.key" {
		t.Fatalf("config %s: %v", rec.Body, err)
	}
	checkSecurityHeaders(t, "/console/config.json", rec.Header())
}

func TestRedirect(t *testing.T) {
	rec := get(t, newMux(), "GET", "/console")
	if rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != "/console/" {
		t.Fatalf("GET /console: %d Location %q, want 301 to /console/", rec.Code, rec.Header().Get("Location"))
	}
	checkSecurityHeaders(t, "/console", rec.Header())
}

func TestNotFound(t *testing.T) {
	mux := newMux()
	for _, path := range []string{"/console/nope.js", "/console/js/", "/console/js", "/console/static/index.html", "/console/js/missing.js", "/console/index.html/"} {
		rec := get(t, mux, "GET", path)
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, rec.Code)
		}
		checkSecurityHeaders(t, path, rec.Header())
	}
	// The handler alone (before any mux cleans the path) serves only the
	// embedded files: no way out of them, and nothing outside /console/.
	h := console.Handler(console.Config{})
	for _, path := range []string{"/console/../go.mod", "/console/..%2fconsole.go", "/consoles/x", "/index.html"} {
		if rec := get(t, h, "GET", path); rec.Code != http.StatusNotFound {
			t.Errorf("Handler GET %s: %d, want 404", path, rec.Code)
		}
	}
}

func TestMethods(t *testing.T) {
	mux := newMux()
	rec := get(t, mux, "POST", "/console/")
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /console/: %d Allow %q, want 405 with Allow: GET, HEAD", rec.Code, rec.Header().Get("Allow"))
	}
	rec = get(t, mux, "HEAD", "/console/js/app.js")
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("HEAD /console/js/app.js: %d with %d body bytes", rec.Code, rec.Body.Len())
	}
}

// A browser revalidates with the ETag and gets 304: cheap, and a new
// binary's files are picked up at once.
func TestRevalidation(t *testing.T) {
	mux := newMux()
	rec := get(t, mux, "GET", "/console/js/app.js")
	etag := rec.Header().Get("ETag")
	if etag == "" || rec.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q Cache-Control %q", etag, rec.Header().Get("Cache-Control"))
	}
	if rec := get(t, mux, "GET", "/console/js/app.js", "If-None-Match", etag); rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", rec.Code)
	}
	if other := get(t, mux, "GET", "/console/js/tail.js").Header().Get("ETag"); other == etag {
		t.Errorf("two files share ETag %s", etag)
	}
}

var (
	// refAttr finds src and href attributes in the page and its modules'
	// import statements.
	refAttr   = regexp.MustCompile(`\b(?:src|href)="([^"]*)"`)
	importRef = regexp.MustCompile(`(?m)^\s*(?:import|export)\b[^'"]*?\bfrom\s+'([^']+)'`)
	inlineJS  = regexp.MustCompile(`(?i)<script\b[^>]*>\s*[^<\s]|\son[a-z]+\s*=|javascript:|<style\b|\bstyle\s*=`)
)

// The page references only files that exist in the embed, and each module
// imports only modules that exist: a typo would otherwise break the console
// in the browser alone.
func TestReferencesResolve(t *testing.T) {
	fsys := console.Files()
	html, err := fs.ReadFile(fsys, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, m := range refAttr.FindAllStringSubmatch(string(html), -1) {
		ref := m[1]
		if strings.HasPrefix(ref, "#") {
			continue // a panel link
		}
		if strings.Contains(ref, ":") || strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "//") {
			t.Errorf("index.html references %q: only relative references to the console's own files are allowed", ref)
			continue
		}
		refs = append(refs, ref)
	}
	for _, want := range []string{"console.css", "js/app.js", "icon.svg"} {
		if !slices.Contains(refs, want) {
			t.Errorf("index.html does not reference %s (found %q)", want, refs)
		}
	}
	for _, ref := range refs {
		if _, err := fs.Stat(fsys, ref); err != nil {
			t.Errorf("index.html references %s, which is not embedded", ref)
		}
	}
	if m := inlineJS.FindString(string(html)); m != "" {
		t.Errorf("index.html has inline script or style (%q): the CSP forbids it", m)
	}

	mods, _ := fs.Glob(fsys, "js/*.js")
	for _, mod := range mods {
		src, _ := fs.ReadFile(fsys, mod)
		for _, m := range importRef.FindAllStringSubmatch(string(src), -1) {
			target := path.Join("js", m[1])
			var err error
			switch {
			case strings.HasPrefix(m[1], "./"), strings.HasPrefix(m[1], "../vendor/"):
				_, err = fs.Stat(fsys, target)
			case strings.HasPrefix(m[1], "../"+console.ClientPath):
				_, err = fs.Stat(jsclient.Files, strings.TrimPrefix(target, console.ClientPath))
			default:
				t.Errorf("%s imports %q: only ./relative modules, ../vendor/ and ../%s exist", mod, m[1], console.ClientPath)
				continue
			}
			if err != nil {
				t.Errorf("%s imports %s, which is not embedded", mod, m[1])
			}
		}
	}
}

// Event data must never reach the page as HTML: no module may use the
// APIs that parse markup.
func TestNoHTMLInjectionSinks(t *testing.T) {
	fsys := console.Files()
	mods, _ := fs.Glob(fsys, "js/*.js")
	sink := regexp.MustCompile(`\.(?:innerHTML|outerHTML)\b|insertAdjacentHTML|document\.write|\beval\(|new Function\(`)
	for _, mod := range mods {
		src, _ := fs.ReadFile(fsys, mod)
		if m := sink.FindString(string(src)); m != "" {
			t.Errorf("%s uses %s: put data in the page with textContent / text nodes only", mod, m)
		}
	}
}

// The vendored chart library is the one interop/js/package.json pins, as
// `make console-vendor` copies it, with its licence next to it.
func TestVendoredUPlot(t *testing.T) {
	fsys := console.Files()
	for vendored, upstream := range map[string]string{
		"vendor/uPlot.esm.js":      "dist/uPlot.esm.js",
		"vendor/uPlot.min.css":     "dist/uPlot.min.css",
		"vendor/uPlot.LICENSE.txt": "LICENSE",
	} {
		got, err := fs.ReadFile(fsys, vendored)
		if err != nil {
			t.Fatalf("%s: %v", vendored, err)
		}
		want, err := os.ReadFile("../../interop/js/node_modules/uplot/" + upstream)
		if os.IsNotExist(err) {
			t.Skip("interop/js/node_modules has no uplot: run make deps to compare the vendored copy")
		}
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from interop/js/node_modules/uplot/%s: run make console-vendor", vendored, upstream)
		}
	}
}

// The JavaScript client's modules are served below lib/herald/, as
// client/js has them, so the console runs on the client applications use.
func TestClientLibraryServed(t *testing.T) {
	mux := newMux()
	n := 0
	err := fs.WalkDir(jsclient.Files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".js" {
			return err
		}
		n++
		want, _ := fs.ReadFile(jsclient.Files, p)
		rec := get(t, mux, "GET", console.Path+console.ClientPath+p)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/javascript; charset=utf-8" || !bytes.Equal(rec.Body.Bytes(), want) {
			t.Errorf("GET %s%s%s: %d %q, %d bytes; want 200, the module's %d bytes", console.Path, console.ClientPath, p,
				rec.Code, rec.Header().Get("Content-Type"), rec.Body.Len(), len(want))
		}
		checkSecurityHeaders(t, p, rec.Header())
		return nil
	})
	if err != nil || n < 2 {
		t.Fatalf("%d client modules: %v", n, err)
	}
}
