package zulip

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// mdCase is one golden case of testdata/markdown_cases.json.
type mdCase struct {
	Name     string `json:"name"`
	Source   string `json:"source"`
	Input    string `json:"input"`
	Expected string `json:"expected"`
	Realm    bool   `json:"realm"` // render with testRefs
	Note     string `json:"note"`
}

// san is the sanitizer delivery uses.
var san = newSanitizer()

// testRefs is the realm the golden cases with "realm" render in.
var testRefs = newMDRefs(
	[]userRecord{{UserID: 10, FullName: "King Hamlet"}, {UserID: 11, FullName: "Iago"}},
	[]streamRecord{{StreamID: 1, Name: "Denmark"}, {StreamID: 2, Name: "core team.v2"}},
)

func loadMDCases(t testing.TB) []mdCase {
	b, err := os.ReadFile("testdata/markdown_cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Cases []mdCase }
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f.Cases
}

// TestRenderMarkdownGolden: the HTML matches Zulip's for every case herald
// supports (most from Zulip's own markdown_test_cases.json).
func TestRenderMarkdownGolden(t *testing.T) {
	cases := loadMDCases(t)
	if len(cases) < 100 {
		t.Fatalf("only %d golden cases", len(cases))
	}
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.Name] || c.Source == "" {
			t.Fatalf("case %q: duplicate or without a source", c.Name)
		}
		seen[c.Name] = true
		t.Run(c.Name, func(t *testing.T) {
			var refs *mdRefs
			if c.Realm {
				refs = testRefs
			}
			got := renderZulipMarkdown(c.Input, refs)
			if got != c.Expected {
				t.Errorf("input %q\n got %q\nwant %q\n(from %s)", c.Input, got, c.Expected, c.Source)
			}
			// What a queue gets: sanitized, and still Zulip's bytes.
			if clean := san.clean(got); clean != got {
				t.Errorf("input %q\nrendered  %q\nsanitized %q", c.Input, got, clean)
			}
		})
	}
}

// TestRenderAgainFromUsedRefs: rendering a message again with only the
// users and streams its first rendering resolved (what a stored message
// keeps) gives the same HTML, also when names differ only in case.
func TestRenderAgainFromUsedRefs(t *testing.T) {
	realm := newMDRefs(
		[]userRecord{{UserID: 10, FullName: "King Hamlet"}, {UserID: 11, FullName: "Iago"},
			{UserID: 12, FullName: "iago"}, {UserID: 13, FullName: "Othello"}},
		[]streamRecord{{StreamID: 1, Name: "Denmark"}, {StreamID: 2, Name: "core team.v2"}, {StreamID: 3, Name: "Verona"}},
	)
	inputs := []string{
		"@**iago** @**IAGO** @**Iago|11** @**iago|12** @**Iago|12** @_**King Hamlet** @**Nobody** @**|13**",
		"#**denmark** #**Core Team.v2>x** #**Nowhere** `@**Othello**` > @**Othello**",
	}
	for _, c := range loadMDCases(t) {
		if c.Realm {
			inputs = append(inputs, c.Input)
		}
	}
	for _, in := range inputs {
		first := render(in, realm)
		again := render(in, first.Refs.mdRefs())
		if again.HTML != first.HTML {
			t.Errorf("input %q\nfirst %q\nagain %q (refs %+v)", in, first.HTML, again.HTML, first.Refs)
		}
	}
}

// TestRenderMarkdownWithoutRealm: with no realm data (stream descriptions,
// events stored before send-time rendering), mentions and stream links
// fall through to bold, as an unknown name does in Zulip.
func TestRenderMarkdownWithoutRealm(t *testing.T) {
	for in, want := range map[string]string{
		"@**King Hamlet**": "<p>@<strong>King Hamlet</strong></p>",
		"#**Denmark**":     "<p>#<strong>Denmark</strong></p>",
		"@**all**":         `<p><span class="user-mention channel-wildcard-mention" data-user-id="*">@all</span></p>`,
	} {
		if got := renderMarkdown(in); got != want {
			t.Errorf("renderMarkdown(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSanitizeURL: only Zulip's schemes are linked; others are refused
// whatever their case.
func TestSanitizeURL(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"https://x.org/a b", "https://x.org/a%20b", true},
		{"  /user_uploads/1/a.png ", "/user_uploads/1/a.png", true},
		{"#narrow/channel/1-a", "#narrow/channel/1-a", true},
		{"bob@example.com", "mailto:bob@example.com", true},
		{"example.com", "http://example.com", true},
		{"JavaScript:alert(1)", "", false},
		{"data:text/html,<script>", "", false},
		{"vbscript:x", "", false},
		{"file:///etc/passwd", "", false},
		{"", "", false},
	} {
		got, ok := sanitizeURL(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("sanitizeURL(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

// TestMarkdownDelivery: a message is rendered when sent, with the realm's
// users and streams; an apply_markdown queue gets that HTML, a raw queue
// the Markdown, and neither sees herald's stored rendering. Mention flags
// work as before.
func TestMarkdownDelivery(t *testing.T) {
	e := newEnv(t, Config{})
	bot := e.addUser("bot@example.com", "Bot")
	iago := e.addUser("iago@example.com", "Iago")
	e.addStream("Denmark")
	qhtml := e.register(iago, url.Values{"event_types": {`["message"]`}, "apply_markdown": {"true"}})
	qraw := e.register(iago, url.Values{"event_types": {`["message"]`}})
	const content = "hi @**Iago**, see #**Denmark**:\n```go\nx := 1 < 2\n```"
	e.sendStream(bot, "Denmark", "t", content)
	ctx := context.Background()

	ev := one(t, e.poll(ctx, iago, qhtml, -1, true), "message")
	m := ev["message"].(map[string]any)
	want := `<p>hi <span class="user-mention" data-user-id="` + jsonNum(iago.ID) + `">@Iago</span>, see ` +
		`<a class="stream" data-stream-id="1" href="/#narrow/channel/1-Denmark">#Denmark</a>:</p>` + "\n" +
		`<div class="codehilite" data-code-language="Go"><pre><span></span><code>x := 1 &lt; 2` + "\n</code></pre></div>"
	if m["content"] != want || m["content_type"] != "text/html" {
		t.Fatalf("html queue: %q (%v)\nwant %q", m["content"], m["content_type"], want)
	}
	if _, leaked := ev[refsKey]; leaked {
		t.Fatalf("stored references leaked: %v", ev)
	}
	if flags, _ := json.Marshal(ev["flags"]); !strings.Contains(string(flags), `"mentioned"`) {
		t.Fatalf("flags %s: want mentioned", flags)
	}

	ev = one(t, e.poll(ctx, iago, qraw, -1, true), "message")
	if m := ev["message"].(map[string]any); m["content"] != content || m["content_type"] != "text/x-markdown" {
		t.Fatalf("raw queue: %v", m)
	}
	if _, leaked := ev[refsKey]; leaked {
		t.Fatalf("stored references leaked: %v", ev)
	}
}

func jsonNum(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestStreamRenderedDescription: a stream's description is rendered too.
func TestStreamRenderedDescription(t *testing.T) {
	got := streamJSON(&streamRecord{StreamID: 3, Name: "ops", Description: "*Alerts*; see https://status.example.com"})
	want := `<p><em>Alerts</em>; see <a href="https://status.example.com">https://status.example.com</a></p>`
	if got["rendered_description"] != want {
		t.Fatalf("rendered_description = %q, want %q", got["rendered_description"], want)
	}
}

// emittedTags are the elements the renderer writes; void ones have no end.
var (
	emittedTags = []string{"p", "br", "strong", "em", "del", "code", "pre", "div", "span", "a",
		"blockquote", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "hr"}
	voidTags = []string{"br", "hr"}
	tagRE    = regexp.MustCompile(`^<(/?)([a-z0-9]+)((?: [a-z-]+="[^"<>]*")*)>`)
	hrefRE   = regexp.MustCompile(`href="([^"]*)"`)
)

// checkWellFormed reports what is wrong with html: a "<" that does not
// start one of the renderer's tags, an unbalanced tag, or a dangerous link.
func checkWellFormed(html string) string {
	var stack []string
	for i := 0; i < len(html); i++ {
		if html[i] == '>' {
			// A ">" outside a tag is text that was not escaped; tags are
			// consumed whole below.
			return "unescaped > at " + itoa(i)
		}
		if html[i] != '<' {
			continue
		}
		m := tagRE.FindStringSubmatch(html[i:])
		if m == nil || !slices.Contains(emittedTags, m[2]) {
			return "unescaped < at " + itoa(i) + ": " + html[i:min(len(html), i+30)]
		}
		for _, h := range hrefRE.FindAllStringSubmatch(m[3], -1) {
			u := strings.ToLower(strings.ReplaceAll(h[1], "&amp;", "&"))
			if s, _, ok := strings.Cut(u, ":"); ok && !strings.ContainsAny(s, "/?#") &&
				!slices.Contains([]string{"http", "https", "ftp", "mailto", "tel", "sms"}, s) {
				return "link of scheme " + s
			}
		}
		switch {
		case slices.Contains(voidTags, m[2]):
		case m[1] == "":
			stack = append(stack, m[2])
		case len(stack) == 0 || stack[len(stack)-1] != m[2]:
			return "unbalanced </" + m[2] + "> in " + strings.Join(stack, ",")
		default:
			stack = stack[:len(stack)-1]
		}
		i += len(m[0]) - 1
	}
	if len(stack) > 0 {
		return "unclosed " + strings.Join(stack, ",")
	}
	return ""
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// TestCheckWellFormed: the fuzz oracle rejects what it must.
func TestCheckWellFormed(t *testing.T) {
	for _, bad := range []string{"<p>x", "<p><em>x</p></em>", "<script>", "<p>a < b</p>", "<p>a > b</p>",
		`<a href="javascript:x">y</a>`, `<a href="JaVaScRiPt:x">y</a>`, "</p>"} {
		if checkWellFormed(bad) == "" {
			t.Errorf("checkWellFormed(%q) accepted it", bad)
		}
	}
	for _, c := range loadMDCases(t) {
		if msg := checkWellFormed(c.Expected); msg != "" {
			t.Errorf("%s: Zulip's own output fails the oracle: %s", c.Name, msg)
		}
	}
}

// FuzzRenderMarkdown: rendering never panics and its output is well-formed:
// only the renderer's own tags, balanced, no script, no link of a scheme
// Zulip refuses, and every "<" or ">" of the input escaped.
func FuzzRenderMarkdown(f *testing.F) {
	for _, c := range loadMDCases(f) {
		f.Add(c.Input)
	}
	f.Add("<script>alert(1)</script>\n> **a *b* ~~c~~** `d`\n* [x](javascript:y) @**Iago** #**Denmark>t**")
	f.Fuzz(func(t *testing.T, s string) {
		for _, refs := range []*mdRefs{nil, testRefs} {
			html := renderZulipMarkdown(s, refs)
			if msg := checkWellFormed(html); msg != "" {
				t.Fatalf("input %q\nhtml %q\n%s", s, html, msg)
			}
			if msg := activeMarkup(html); msg != "" {
				t.Fatalf("input %q\nhtml %q\n%s", s, html, msg)
			}
			if clean := san.clean(html); clean != html {
				t.Fatalf("input %q: the sanitizer changed the renderer's\n%q to\n%q", s, html, clean)
			}
			if strings.Contains(strings.ToLower(html), "<script") {
				t.Fatalf("input %q: script in %q", s, html)
			}
		}
	})
}

// TestRenderMarkdownNestingBound: nesting deeper than maxNesting is text,
// so a message of nothing but ">" or quote fences renders quickly.
func TestRenderMarkdownNestingBound(t *testing.T) {
	for _, s := range []string{strings.Repeat(">", 10_000), strings.Repeat("~~~quote\n", 2_000)} {
		html := renderZulipMarkdown(s, nil)
		if n := strings.Count(html, "<blockquote>"); n != maxNesting {
			t.Errorf("%.20q…: %d blockquotes, want %d", s, n, maxNesting)
		}
		if msg := checkWellFormed(html); msg != "" {
			t.Errorf("%.20q…: %s", s, msg)
		}
	}
}
