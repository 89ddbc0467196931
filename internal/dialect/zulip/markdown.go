package zulip

import (
	"cmp"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// This file renders Zulip's Markdown dialect to the HTML that Zulip's
// server puts in a message's content (apply_markdown=true) and a stream's
// rendered_description: the block structure here, the inline syntax in
// markdown_inline.go. The reference is Zulip's own test corpus
// (zerver/tests/fixtures/markdown_test_cases.json); testdata/markdown_cases.json
// holds the cases herald reproduces. Zulip builds on Python-Markdown, whose
// quirks are kept where bots rely on them: paragraphs end at a blank line,
// a list may hang off a paragraph, a blank line ends a block quote, a
// single newline is a <br>, and "_" is not emphasis.
//
// Not rendered (left as text): emoji, tables, TeX, timestamps, inline image
// previews, user group mentions, message links, and bare domains without a
// scheme. Fenced code is not syntax-highlighted: a known language gets
// Zulip's data-code-language name and plain text, as Zulip's web client
// shows it before the server's Pygments spans arrive.

// mdRefs is what the renderer knows about the realm: users for mentions,
// streams for stream links. A nil *mdRefs resolves nothing, so mentions
// and stream links stay text (a stream description has no realm at hand).
type mdRefs struct {
	users   map[string]mdUser // by lowercased full name: Zulip matches mentions case-insensitively
	byID    map[int64]mdUser
	streams map[string]int64 // stream ids by lowercased name
}

type mdUser struct {
	ID       int64  `json:"id"`
	FullName string `json:"full_name"`
}

// newMDRefs indexes users and streams of one realm.
func newMDRefs(users []userRecord, streams []streamRecord) *mdRefs {
	r := &mdRefs{users: map[string]mdUser{}, byID: map[int64]mdUser{}, streams: map[string]int64{}}
	for _, u := range users {
		r.addUser(mdUser{ID: u.UserID, FullName: u.FullName})
	}
	for _, s := range streams {
		r.streams[strings.ToLower(s.Name)] = s.StreamID
	}
	return r
}

// addUser indexes u; of users whose names differ only in case, the last
// added is the one a mention by name finds.
func (r *mdRefs) addUser(u mdUser) {
	r.users[strings.ToLower(u.FullName)] = u
	r.byID[u.ID] = u
}

// usedRefs are the users and streams one message's rendering resolved,
// stored with the message (as herald_refs) so that delivery can render its
// Markdown again to the same HTML without reading the realm: every lookup
// that succeeded finds the same user or stream among them, and every one
// that failed still fails.
type usedRefs struct {
	Users   []mdUser   `json:"users,omitempty"`   // by id
	Streams []mdStream `json:"streams,omitempty"` // by name
}

// mdStream is a stream a message links to, by lowercased name.
type mdStream struct {
	Name string `json:"name"`
	ID   int64  `json:"id"`
}

// mdRefs rebuilds the index the rendering looked things up in. Users are
// added by id, as the realm's were, so names that differ only in case
// resolve alike.
func (u *usedRefs) mdRefs() *mdRefs {
	r := &mdRefs{users: map[string]mdUser{}, byID: map[int64]mdUser{}, streams: map[string]int64{}}
	users := slices.SortedFunc(slices.Values(u.Users), func(a, b mdUser) int { return cmp.Compare(a.ID, b.ID) })
	for _, mu := range users {
		r.addUser(mu)
	}
	for _, s := range u.Streams {
		r.streams[strings.ToLower(s.Name)] = s.ID
	}
	return r
}

// rendering is a rendered message: its HTML, what it resolved and whom it
// mentions.
type rendering struct {
	HTML     string
	Refs     usedRefs
	Mentions mentions
}

// renderMarkdown renders s without realm data: mentions and stream links
// stay text.
func renderMarkdown(s string) string { return renderZulipMarkdown(s, nil) }

// renderZulipMarkdown renders message text s as Zulip does, resolving
// mentions and stream links with refs (nil: none).
func renderZulipMarkdown(s string, refs *mdRefs) string { return render(s, refs).HTML }

// render renders message text s as Zulip does, resolving mentions and
// stream links with refs (nil: none), and reports what it resolved.
func render(s string, refs *mdRefs) rendering {
	// NUL and SOH delimit the inline renderer's placeholders; they carry
	// nothing displayable, so dropping them costs nothing.
	s = strings.NewReplacer("\r\n", "\n", "\r", "\n", "\x00", "", "\x01", "").Replace(s)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = expandTabs(l)
	}
	in := &inliner{refs: refs}
	b := &blockRenderer{in: in}
	out := rendering{HTML: strings.Join(b.blocks(lines), "\n"), Mentions: in.mentioned}
	for _, u := range in.users {
		out.Refs.Users = append(out.Refs.Users, u)
	}
	slices.SortFunc(out.Refs.Users, func(a, b mdUser) int { return cmp.Compare(a.ID, b.ID) })
	for name, id := range in.streams {
		out.Refs.Streams = append(out.Refs.Streams, mdStream{Name: name, ID: id})
	}
	slices.SortFunc(out.Refs.Streams, func(a, b mdStream) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// expandTabs replaces tabs with spaces to the next multiple of four, as
// Python-Markdown does before it measures indentation.
func expandTabs(l string) string {
	if !strings.Contains(l, "\t") {
		return l
	}
	var b strings.Builder
	col := 0
	for _, r := range l {
		if r == '\t' {
			n := 4 - col%4
			b.WriteString(strings.Repeat(" ", n))
			col += n
			continue
		}
		b.WriteRune(r)
		col++
	}
	return b.String()
}

type blockRenderer struct {
	in    *inliner
	depth int // of nested quotes, spoilers and lists
}

// maxNesting bounds how deep quotes and lists nest. Like Python-Markdown
// near its recursion limit, herald renders what is deeper as a paragraph;
// without a bound, a line of 10,000 ">" costs seconds to render.
const maxNesting = 32

var (
	// fenceRE is Zulip's fence opener: ``` or ~~~ (or longer), then an
	// optional language (".py" and "{js}" also work) and a header.
	fenceRE   = regexp.MustCompile("^(~{3,}|`{3,})[ ]*(?:\\{?\\.?([a-zA-Z0-9_+\\-./#]*)[ ]*([^ ~`][^~`]*)?\\}?)?$")
	headingRE = regexp.MustCompile(`^(#{1,6})[ ]+(.*?)[ ]*#*[ ]*$`)
	itemRE    = regexp.MustCompile(`^( *)([*+-]|[0-9]{1,9}\.)[ ]+(.*)$`)
	quoteRE   = regexp.MustCompile(`^ {0,3}>`)
)

func isBlank(l string) bool { return strings.TrimSpace(l) == "" }

func indentOf(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }

// isRule reports whether l is a horizontal rule: three or more of one of
// "-", "*", "_", possibly spaced.
func isRule(l string) bool {
	t := strings.ReplaceAll(l, " ", "")
	if indentOf(l) > 3 || len(t) < 3 {
		return false
	}
	return strings.Count(t, t[:1]) == len(t) && strings.Contains("-*_", t[:1])
}

// interrupts reports whether l starts a new block even without a blank
// line before it. Lists may hang off a paragraph in Zulip.
func interrupts(l string) bool {
	if fenceRE.MatchString(l) || headingRE.MatchString(l) || quoteRE.MatchString(l) || isRule(l) {
		return true
	}
	m := itemRE.FindStringSubmatch(l)
	return m != nil && len(m[1]) < 4
}

// blocks renders lines as a sequence of block elements.
func (b *blockRenderer) blocks(lines []string) []string {
	if b.depth >= maxNesting {
		text := slices.DeleteFunc(slices.Clone(lines), isBlank)
		if len(text) == 0 {
			return nil
		}
		return []string{b.paragraph(text)}
	}
	b.depth++
	defer func() { b.depth-- }()
	var out []string
	for i := 0; i < len(lines); {
		l := lines[i]
		switch {
		case isBlank(l):
			i++
		case fenceRE.MatchString(l):
			var html string
			html, i = b.fenced(lines, i)
			out = append(out, html)
		case indentOf(l) >= 4:
			var html string
			html, i = b.indentedCode(lines, i)
			out = append(out, html)
		case headingRE.MatchString(l):
			m := headingRE.FindStringSubmatch(l)
			n := strconv.Itoa(len(m[1]))
			out = append(out, "<h"+n+">"+b.in.render(m[2])+"</h"+n+">")
			i++
		case isRule(l):
			out = append(out, "<hr>")
			i++
		case quoteRE.MatchString(l):
			var html string
			html, i = b.quote(lines, i)
			out = append(out, html)
		case itemRE.MatchString(l):
			var html string
			html, i = b.list(lines, i)
			out = append(out, html)
		default:
			j := i + 1
			for j < len(lines) && !isBlank(lines[j]) && !interrupts(lines[j]) {
				j++
			}
			out = append(out, b.paragraph(lines[i:j]))
			i = j
		}
	}
	return out
}

// paragraph renders lines as one <p>; Python-Markdown strips the leading
// whitespace of the block but keeps that of later lines and trailing spaces.
func (b *blockRenderer) paragraph(lines []string) string {
	return "<p>" + b.in.render(strings.TrimLeft(strings.Join(lines, "\n"), " ")) + "</p>"
}

// fenced renders the fenced block opening at lines[i] and returns the
// index after it. An unclosed fence runs to the end of the message, as in
// Zulip. Quote and spoiler fences hold Markdown, so fences inside them
// nest; code fences hold text.
func (b *blockRenderer) fenced(lines []string, i int) (string, int) {
	m := fenceRE.FindStringSubmatch(lines[i])
	lang := strings.ToLower(m[2])
	header := strings.TrimSpace(m[3])
	type fence struct {
		marker    string
		container bool // quote and spoiler fences hold Markdown, code fences text
		quoted    bool // a quote fence, or inside one
	}
	isContainer := func(lang string) bool { return lang == "quote" || lang == "spoiler" }
	stack := []fence{{m[1], isContainer(lang), lang == "quote"}}
	j := i + 1
	var body []string
	for ; j < len(lines); j++ {
		l := lines[j]
		top := stack[len(stack)-1]
		if strings.TrimRight(l, " ") == top.marker {
			if stack = stack[:len(stack)-1]; len(stack) == 0 {
				j++
				break
			}
		} else if n := fenceRE.FindStringSubmatch(l); n != nil && top.container {
			// A fence inside a quote: its closer must not close the quote.
			nlang := strings.ToLower(n[2])
			stack = append(stack, fence{n[1], isContainer(nlang), top.quoted || nlang == "quote"})
		}
		if top := stack[len(stack)-1]; top.quoted && top.container {
			// Zulip silences the mentions of a quote, but not of the
			// code in it, which it has set aside by then.
			l = silenceMentions(l)
		}
		body = append(body, l)
	}
	switch lang {
	case "quote":
		return "<blockquote>\n" + joinBlocks(b.blocks(body)) + "</blockquote>", j
	case "spoiler":
		h := "<div class=\"spoiler-header\">\n"
		if header != "" {
			h += b.paragraph([]string{header}) + "\n"
		}
		return "<div class=\"spoiler-block\">" + h + "</div><div class=\"spoiler-content\" aria-hidden=\"true\">\n" +
			joinBlocks(b.blocks(body)) + "</div></div>", j
	}
	return codeBlock(lang, body), j
}

// joinBlocks joins rendered blocks, each on its own line, for a container.
func joinBlocks(blocks []string) string {
	if len(blocks) == 0 {
		return ""
	}
	return strings.Join(blocks, "\n") + "\n"
}

// indentedCode renders the four-space indented code block at lines[i].
func (b *blockRenderer) indentedCode(lines []string, i int) (string, int) {
	var body []string
	j := i
	for ; j < len(lines) && (isBlank(lines[j]) || indentOf(lines[j]) >= 4); j++ {
		if isBlank(lines[j]) {
			body = append(body, "")
		} else {
			body = append(body, lines[j][4:])
		}
	}
	return codeBlock("", body), j
}

// codeBlock renders code the way Zulip's codehilite does: trailing
// whitespace and surrounding blank lines dropped, quotes escaped too
// (Pygments escapes them), and the language's display name.
func codeBlock(lang string, body []string) string {
	lines := make([]string, len(body))
	for i, l := range body {
		lines[i] = strings.TrimRight(l, " ")
	}
	for len(lines) > 0 && lines[0] == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	attr := ""
	if lang != "" {
		name, ok := codeLanguages[lang]
		if !ok {
			name = lang
		}
		attr = ` data-code-language="` + escapeAttr(name) + `"`
	}
	return `<div class="codehilite"` + attr + `><pre><span></span><code>` +
		escapeCode(strings.Join(lines, "\n")) + "\n</code></pre></div>"
}

// codeLanguages maps common fence languages and aliases to the names of
// their Pygments lexers, which Zulip shows as data-code-language. Others
// are shown as written.
var codeLanguages = map[string]string{
	"python": "Python", "py": "Python", "python3": "Python", "py3": "Python",
	"python2": "Python 2.x", "py2": "Python 2.x",
	"javascript": "JavaScript", "js": "JavaScript", "typescript": "TypeScript", "ts": "TypeScript",
	"go": "Go", "golang": "Go", "rust": "Rust", "rs": "Rust", "java": "Java",
	"c": "C", "cpp": "C++", "c++": "C++", "csharp": "C#", "cs": "C#",
	"bash": "Bash", "sh": "Bash", "shell": "Bash", "zsh": "Bash",
	"json": "JSON", "yaml": "YAML", "yml": "YAML", "toml": "TOML",
	"html": "HTML", "xml": "XML", "css": "CSS", "sql": "SQL",
	"ruby": "Ruby", "rb": "Ruby", "php": "PHP", "diff": "Diff", "patch": "Diff",
	"tex": "TeX", "latex": "TeX", "markdown": "Markdown", "md": "Markdown",
	"kotlin": "Kotlin", "swift": "Swift", "haskell": "Haskell", "dockerfile": "Docker", "docker": "Docker",
}

// quote renders the block quote starting at lines[i]. It runs to the next
// blank line; lines without ">" continue it lazily. A quote of nothing is
// not one: ">" alone stays text, as in Zulip.
func (b *blockRenderer) quote(lines []string, i int) (string, int) {
	j := i
	var body []string
	empty := true
	for ; j < len(lines) && !isBlank(lines[j]) && (j == i || !fenceRE.MatchString(lines[j])); j++ {
		l := lines[j]
		if loc := quoteRE.FindStringIndex(l); loc != nil {
			l = strings.TrimPrefix(l[loc[1]:], " ")
		}
		empty = empty && isBlank(l)
		body = append(body, silenceMentions(l)) // as Zulip does to a quote's lines
	}
	if empty {
		return b.paragraph(lines[i:j]), j
	}
	return "<blockquote>\n" + joinBlocks(b.blocks(body)) + "</blockquote>", j
}

// listItem is one <li> while its list is parsed.
type listItem struct {
	text     []string // the first line and lazy continuation lines
	more     [][]string
	children []string // nested lists, rendered
}

// list renders the list whose first item is lines[i], with nested lists
// for items indented further; returns the index after it. A blank line
// between items makes every item a paragraph ("loose"), as in Zulip.
func (b *blockRenderer) list(lines []string, i int) (string, int) {
	first := itemRE.FindStringSubmatch(lines[i])
	indent, ordered := len(first[1]), first[2][0] >= '0' && first[2][0] <= '9'
	sameKind := func(m []string) bool {
		return m != nil && (m[2][0] >= '0' && m[2][0] <= '9') == ordered
	}
	var items []*listItem
	loose := false
	j := i
	for j < len(lines) {
		l := lines[j]
		m := itemRE.FindStringSubmatch(l)
		switch {
		case isBlank(l):
			k := j
			for k < len(lines) && isBlank(lines[k]) {
				k++
			}
			if k == len(lines) {
				j = k
				goto done
			}
			n := itemRE.FindStringSubmatch(lines[k])
			switch {
			case n != nil && len(n[1]) == indent && sameKind(n):
				loose = true
			case n != nil && len(n[1]) > indent:
				loose = true
			case n == nil && indentOf(lines[k]) > indent && len(items) > 0:
				// A paragraph of the item, indented under it.
				it := items[len(items)-1]
				e := k
				for e < len(lines) && !isBlank(lines[e]) && !itemRE.MatchString(lines[e]) {
					e++
				}
				var para []string
				for _, p := range lines[k:e] {
					para = append(para, strings.TrimLeft(p, " "))
				}
				it.more = append(it.more, para)
				loose = true
				j = e
				continue
			default:
				goto done
			}
			j = k
		case m != nil && len(m[1]) == indent && sameKind(m):
			items = append(items, &listItem{text: []string{m[3]}})
			j++
		case m != nil && len(m[1]) > indent && len(items) > 0:
			var html string
			html, j = b.list(lines, j)
			it := items[len(items)-1]
			it.children = append(it.children, html)
		case m != nil || fenceRE.MatchString(l):
			goto done
		default:
			// A lazy continuation line, kept as written.
			it := items[len(items)-1]
			it.text = append(it.text, l)
			j++
		}
	}
done:
	tag, attr := "ul", ""
	if ordered {
		tag = "ol"
		if n, _ := strconv.Atoi(strings.TrimSuffix(first[2], ".")); n != 1 {
			attr = ` start="` + strconv.Itoa(n) + `"`
		}
	}
	var sb strings.Builder
	sb.WriteString("<" + tag + attr + ">\n")
	for _, it := range items {
		sb.WriteString("<li>")
		if loose {
			sb.WriteString("\n" + b.paragraph(it.text) + "\n")
			for _, p := range it.more {
				sb.WriteString(b.paragraph(p) + "\n")
			}
		} else {
			sb.WriteString(b.in.render(strings.Join(it.text, "\n")))
		}
		for _, c := range it.children {
			sb.WriteString(c + "\n")
		}
		sb.WriteString("</li>\n")
	}
	sb.WriteString("</" + tag + ">")
	return sb.String(), j
}
