package server_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/console"
)

// patternRE is what a mux pattern looks like: an optional method, a path.
var patternRE = regexp.MustCompile(`^(?:(?:GET|HEAD|POST|PUT|PATCH|DELETE) )?/\S*$`)

// mountedPatterns reads every pattern herald mounts out of the source: the
// string literals in each dialect's Mount and the server's mountOps (the
// literals passed to the mux and the paths of their method tables), and
// the console's two. A route added there without a row in the tables that
// cover every route fails those tests.
func mountedPatterns(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob("../dialect/*")
	if err != nil {
		t.Fatal(err)
	}
	dirs = append(dirs, ".", "../connector")
	set := map[string]bool{
		console.Path:                          true,
		strings.TrimSuffix(console.Path, "/"): true,
	}
	fset := token.NewFileSet()
	for _, dir := range dirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, name, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range f.Decls {
				fn, ok := d.(*ast.FuncDecl)
				if !ok || (fn.Name.Name != "Mount" && fn.Name.Name != "mountOps") {
					continue
				}
				ast.Inspect(fn.Body, func(n ast.Node) bool {
					if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
						if s, err := strconv.Unquote(lit.Value); err == nil && patternRE.MatchString(s) {
							set[s] = true
						}
					}
					return true
				})
			}
		}
	}
	if len(set) < 50 {
		t.Fatalf("found only %d patterns in the Mount functions: the scan is broken", len(set))
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// requestsByRoute counts the requests the server has answered by the
// pattern that served them (herald_http_requests_total's route label).
func requestsByRoute(t *testing.T, base, admin string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for sample, v := range scrape(t, base, admin) {
		rest, ok := strings.CutPrefix(sample, `herald_http_requests_total{code="`)
		if !ok {
			continue
		}
		_, route, _ := strings.Cut(rest, `",route="`)
		n, _ := strconv.Atoi(v)
		out[strings.TrimSuffix(route, `"}`)] += n
	}
	return out
}

// checkCoverage fails unless the rows name exactly the mounted patterns
// and each row's requests were served by its pattern: sent counts the
// requests sent per row pattern, before is requestsByRoute before them.
// The counts are taken again until they match (a handler counts its
// request once it has returned, which may be just after its answer).
func checkCoverage(t *testing.T, base, admin string, mounted []string, sent, before map[string]int) {
	t.Helper()
	for _, p := range mounted {
		if sent[p] == 0 {
			t.Errorf("pattern %q is mounted but no row covers it", p)
		}
	}
	for p := range sent {
		if !slices.Contains(mounted, p) {
			t.Errorf("a row covers %q, which nothing mounts", p)
		}
	}
	scrapes := 1 // before's
	eventually(t, 10*time.Second, func() string {
		after := requestsByRoute(t, base, admin)
		var wrong []string
		for p, n := range sent {
			if p == "GET /metrics" {
				n += scrapes
			}
			if got := after[p] - before[p]; got != n {
				wrong = append(wrong, fmt.Sprintf("pattern %q served %d requests, its rows sent %d", p, got, n))
			}
		}
		scrapes++
		slices.Sort(wrong)
		return strings.Join(wrong, "; ")
	})
}

// A credential as a client presents it: form says where, secret what.
type cred struct {
	name       string
	form       credForm
	secret     secretKind
	wrongEmail bool        // Zulip Basic with another user's email
	header     http.Header // filled in by the matrix's setup
}

type credForm int

const (
	formNone       credForm = iota
	formBearer              // Authorization: Bearer (native, admin)
	formHue                 // hue-application-key
	formBasic               // Authorization: Basic email:key (Zulip)
	formAccessKey           // AccessKey (Jetstream)
	formPlex                // X-Plex-Token
	formEverywhere          // the same secret in every header but Basic
)

type secretKind int

const (
	secretNone secretKind = iota
	secretGarbage
	secretRevoked   // a native key, revoked
	secretPlain     // a native key without scopes
	secretScoped    // a native key for app.>
	secretAdmin     // the admin key
	secretHue       // an application key from pairing
	secretZulip     // a Zulip user's API key
	secretJetstream // a Jetstream access key
	secretPlex      // a Plex token
)

// creds are the columns of the matrix: every kind of credential in its own
// form, and the crossings a client gets wrong or an admin may use.
var creds = []cred{
	{name: "none"},
	{name: "garbage", form: formEverywhere, secret: secretGarbage},
	{name: "revoked", form: formBearer, secret: secretRevoked},
	{name: "plain", form: formBearer, secret: secretPlain},
	{name: "scoped", form: formBearer, secret: secretScoped},
	{name: "admin", form: formBearer, secret: secretAdmin},
	{name: "hue", form: formHue, secret: secretHue},
	{name: "zulip", form: formBasic, secret: secretZulip},
	{name: "zulip-wrong-email", form: formBasic, secret: secretZulip, wrongEmail: true},
	{name: "jetstream", form: formAccessKey, secret: secretJetstream},
	{name: "plex", form: formPlex, secret: secretPlex},
	{name: "hue-as-bearer", form: formBearer, secret: secretHue},
	{name: "zulip-as-bearer", form: formBearer, secret: secretZulip},
	{name: "plex-as-bearer", form: formBearer, secret: secretPlex},
	{name: "scoped-as-hue", form: formHue, secret: secretScoped},
	{name: "scoped-as-plex", form: formPlex, secret: secretScoped},
	{name: "admin-as-hue", form: formHue, secret: secretAdmin},
	{name: "admin-as-zulip", form: formBasic, secret: secretAdmin},
	{name: "admin-as-accesskey", form: formAccessKey, secret: secretAdmin},
	{name: "admin-as-plex", form: formPlex, secret: secretAdmin},
}

// The guards, as the vendors and herald's own API define them: 0 admits
// the credential, anything else is the status it is refused with.

// nativeGuard: a herald key as Bearer; another dialect's key is refused.
func (c cred) nativeGuard() int {
	switch {
	case c.form != formBearer && c.form != formEverywhere:
		return 401
	case c.secret == secretGarbage || c.secret == secretRevoked:
		return 401
	case c.secret == secretPlain || c.secret == secretScoped || c.secret == secretAdmin:
		return 0
	}
	return 403
}

// adminGuard: the admin key as Bearer.
func (c cred) adminGuard() int {
	if s := c.nativeGuard(); s != 0 {
		return s
	}
	if c.secret != secretAdmin {
		return 403
	}
	return 0
}

// hueGuard: an application key or the admin key in hue-application-key; a
// bridge answers everything else 403 ("unauthorized user").
func (c cred) hueGuard() int {
	if c.form == formHue && (c.secret == secretHue || c.secret == secretAdmin) {
		return 0
	}
	return 403
}

// zulipGuard: Basic with a user's email and API key; Zulip answers another
// scheme 400 ("requires HTTP basic authentication").
func (c cred) zulipGuard() int {
	switch c.form {
	case formBasic:
		if c.secret == secretZulip && !c.wrongEmail {
			return 0
		}
		return 401
	case formBearer, formEverywhere:
		return 400
	}
	return 401
}

// jetstreamGuard: a user's access key; 401 otherwise, admin keys included
// (Jetstream has no such thing).
func (c cred) jetstreamGuard() int {
	if c.form == formAccessKey && c.secret == secretJetstream {
		return 0
	}
	return 401
}

// plexGuard: a Plex token or the admin key as X-Plex-Token.
func (c cred) plexGuard() int {
	if c.form == formPlex && (c.secret == secretPlex || c.secret == secretAdmin) {
		return 0
	}
	return 401
}
