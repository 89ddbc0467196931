package zulip

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The inline half of the Markdown renderer (see markdown.go). Like
// Python-Markdown, it applies one pattern at a time to the whole text, in
// Zulip's order of priority; whatever a pattern turns into HTML is stashed
// and replaced by a placeholder, so later patterns cannot break it up. That
// is why `**code**` in backticks stays code, and why a mention of an unknown
// name falls through to **bold**, exactly as in Zulip.

// inliner renders the inline content of one message.
type inliner struct {
	refs  *mdRefs
	stash []string // rendered HTML, by placeholder number
	// What the message resolved: users by id, stream ids by lowercased name.
	users   map[int64]mdUser
	streams map[string]int64
	// What it mentions.
	mentioned mentions
}

// A placeholder is "\x00<n>\x01"; the input has neither byte (see
// renderZulipMarkdown).
func (in *inliner) put(html string) string {
	in.stash = append(in.stash, html)
	return "\x00" + strconv.Itoa(len(in.stash)-1) + "\x01"
}

// inlinePass is one pattern: it rewrites s, stashing what it renders, and
// renders the text inside what it matches with the passes from next on.
type inlinePass func(in *inliner, s string, next int) string

var inlinePasses []inlinePass

func init() {
	// Zulip's priorities: backtick 105, strong_em 100, user mention 95,
	// stream topic 87, stream 85, link 60, autolink 55, strong 35,
	// emphasis 30, del 25.
	inlinePasses = []inlinePass{
		(*inliner).codeSpans, (*inliner).strongEm, (*inliner).mentions, (*inliner).streamLinks,
		(*inliner).links, (*inliner).autolinks,
		delimited("**", "strong", true), (*inliner).emphasis, delimited("~~", "del", false),
	}
}

// render returns the HTML of inline Markdown s.
func (in *inliner) render(s string) string { return in.finish(in.apply(s, 0)) }

func (in *inliner) apply(s string, from int) string {
	for i := from; i < len(inlinePasses); i++ {
		s = inlinePasses[i](in, s, i+1)
	}
	return s
}

// finish escapes the text of s, makes each newline a <br>, and puts the
// stashed HTML back in place of the placeholders.
func (in *inliner) finish(s string) string {
	var b strings.Builder
	for s != "" {
		i := strings.IndexByte(s, 0)
		if i < 0 {
			b.WriteString(strings.ReplaceAll(escapeText(s), "\n", "<br>\n"))
			break
		}
		b.WriteString(strings.ReplaceAll(escapeText(s[:i]), "\n", "<br>\n"))
		end := strings.IndexByte(s[i:], 1) + i
		n, _ := strconv.Atoi(s[i+1 : end])
		b.WriteString(in.stash[n])
		s = s[end+1:]
	}
	return b.String()
}

var entityRE = regexp.MustCompile(`^&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z0-9]+);`)

// escapeText escapes text as Python-Markdown does: &, < and >, but an
// entity such as &amp; the author typed is kept (quotes are not escaped).
func escapeText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			if entityRE.MatchString(s[i:]) {
				b.WriteByte('&')
			} else {
				b.WriteString("&amp;")
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// escapeHTML escapes &, < and > (not quotes, which Python-Markdown keeps
// in text).
func escapeHTML(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// escapeCode escapes code as Pygments does, quotes included.
func escapeCode(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;").Replace(s)
}

// escapeAttr escapes an attribute value.
func escapeAttr(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// codeSpans renders `code`: a run of backticks up to the next run of the
// same length. The content is kept as written, spaces included.
func (in *inliner) codeSpans(s string, _ int) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '`')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		n := runLen(s[i:], '`')
		start := i
		if i > 0 && s[i-1] == '\\' { // an escaped backtick does not open
			start, n = i+1, n-1
		}
		end := -1
		if n > 0 {
			for j := i + runLen(s[i:], '`'); j < len(s); {
				k := strings.IndexByte(s[j:], '`')
				if k < 0 {
					break
				}
				j += k
				m := runLen(s[j:], '`')
				if m == n {
					end = j
					break
				}
				j += m
			}
		}
		if end < 0 {
			skip := i + runLen(s[i:], '`')
			b.WriteString(s[:skip])
			s = s[skip:]
			continue
		}
		b.WriteString(s[:start])
		b.WriteString(in.put("<code>" + escapeHTML(s[start+n:end]) + "</code>"))
		s = s[end+n:]
	}
}

func runLen(s string, c byte) int {
	n := 0
	for n < len(s) && s[n] == c {
		n++
	}
	return n
}

// strongEm renders ***text*** as <strong><em>.
func (in *inliner) strongEm(s string, next int) string {
	return in.scanDelims(s, "***", func(body string) string {
		return "<strong><em>" + in.finish(in.apply(body, next)) + "</em></strong>"
	})
}

// emphasis renders *text*: no "*", "^" or newline inside, and no space
// just inside the stars (so "char *x = (char *)y" stays text).
func (in *inliner) emphasis(s string, next int) string {
	return in.scanDelims(s, "*", func(body string) string {
		return "<em>" + in.finish(in.apply(body, next)) + "</em>"
	})
}

// scanDelims is strongEm and emphasis: d, a body of neither "*", "^" nor
// newline that neither starts nor ends with a space, and d again.
func (in *inliner) scanDelims(s, d string, render func(string) string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if !strings.HasPrefix(s[i:], d) {
			b.WriteByte(s[i])
			i++
			continue
		}
		body := s[i+len(d):]
		k := strings.IndexAny(body, "*^\n")
		if k > 0 && strings.HasPrefix(body[k:], d) && !isSpaceAt(body, 0) && !isSpaceBefore(body, k) {
			b.WriteString(in.put(render(body[:k])))
			i += len(d) + k + len(d)
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

func isSpaceAt(s string, i int) bool {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return unicode.IsSpace(r)
}

func isSpaceBefore(s string, i int) bool {
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return unicode.IsSpace(r)
}

// delimited renders d text d as <tag>: the shortest body of one line or
// more characters; for "~~" the body has no "~" and the markers are not
// part of a longer run of tildes.
func delimited(d, tag string, anyBody bool) inlinePass {
	return func(in *inliner, s string, next int) string {
		var b strings.Builder
		for i := 0; i < len(s); {
			if !strings.HasPrefix(s[i:], d) || (!anyBody && i > 0 && s[i-1] == d[0]) {
				b.WriteByte(s[i])
				i++
				continue
			}
			body := s[i+len(d):]
			k := -1
			if anyBody {
				if j := strings.Index(body[min(1, len(body)):], d); j >= 0 {
					k = j + min(1, len(body))
				}
			} else if j := strings.IndexByte(body, d[0]); j > 0 && strings.HasPrefix(body[j:], d) &&
				!strings.HasPrefix(body[j+len(d):], d[:1]) {
				k = j
			}
			if k <= 0 || strings.Contains(body[:k], "\n") {
				b.WriteByte(s[i])
				i++
				continue
			}
			b.WriteString(in.put("<" + tag + ">" + in.finish(in.apply(body[:k], next)) + "</" + tag + ">"))
			i += len(d) + k + len(d)
		}
		return b.String()
	}
}

// startsAfter reports whether a mention, stream link or URL may start at
// s[i]: at the start, or after a space or one of the characters in allowed.
func startsAfter(s string, i int, allowed string) bool {
	if i == 0 {
		return true
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return unicode.IsSpace(r) || strings.ContainsRune(allowed, r)
}

var streamRE = regexp.MustCompile(`#\*\*([^*]+)\*\*`)

// streamLinks renders #**stream** and #**stream>topic** as links to their
// narrows; an unknown stream is left for **bold**.
func (in *inliner) streamLinks(s string, _ int) string {
	return in.replaceMatches(s, streamRE, `'"(,:<`, func(m []string) (string, bool) {
		name, topic, hasTopic := strings.Cut(m[1], ">")
		if hasTopic && topic == "" {
			return "", false // Zulip shows the empty topic's localized name; herald does not
		}
		if in.refs == nil {
			return "", false
		}
		id, ok := in.refs.streams[strings.ToLower(name)]
		if !ok {
			return "", false
		}
		if in.streams == nil {
			in.streams = map[string]int64{}
		}
		in.streams[strings.ToLower(name)] = id
		href := fmt.Sprintf("/#narrow/channel/%d-%s", id, hashEncode(strings.ReplaceAll(name, " ", "-")))
		class, text := "stream", "#"+name
		if hasTopic {
			class, text = "stream-topic", "#"+name+" > "+topic
			href += "/topic/" + hashEncode(topic)
		}
		return fmt.Sprintf(`<a class="%s" data-stream-id="%d" href="%s">%s</a>`, class, id, escapeAttr(href), escapeHTML(text)), true
	})
}

// hashEncode encodes a narrow URL component as Zulip does: percent-encode
// all but letters, digits and "_.-~", then "." as ".2E" and "%" as ".".
func hashEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			b.WriteString(".2E")
		case c < 0x80 && (c == '_' || c == '-' || c == '~' || unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c))):
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, ".%02X", c)
		}
	}
	return b.String()
}

// replaceMatches stashes render(match) for each match of re that starts
// where startsAfter allows; a match render declines stays text.
func (in *inliner) replaceMatches(s string, re *regexp.Regexp, allowed string, render func([]string) (string, bool)) string {
	var b strings.Builder
	done := 0 // s[:done] is written
	for i := 0; i < len(s); {
		loc := re.FindStringSubmatchIndex(s[i:])
		if loc == nil {
			break
		}
		for k := range loc {
			if loc[k] >= 0 {
				loc[k] += i
			}
		}
		// What precedes a match is the text's, even where an earlier
		// match ended, as with Python's lookbehind.
		if !startsAfter(s, loc[0], allowed) {
			i = loc[0] + 1
			continue
		}
		m := make([]string, len(loc)/2)
		for k := range m {
			if loc[2*k] >= 0 {
				m[k] = s[loc[2*k]:loc[2*k+1]]
			}
		}
		if html, ok := render(m); ok {
			b.WriteString(s[done:loc[0]] + in.put(html))
			done = loc[1]
		}
		i = loc[1] // Python-Markdown resumes after a declined match too
	}
	b.WriteString(s[done:])
	return b.String()
}

// links renders [text](url). The text is not Markdown (Zulip makes it
// atomic); an empty text shows the URL. A URL of a scheme Zulip does not
// allow (javascript:, data:, …) leaves the whole thing as text.
func (in *inliner) links(s string, _ int) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '[')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		closeText := matchBracket(s, i, '[', ']')
		if closeText < 0 || closeText+1 >= len(s) || s[closeText+1] != '(' {
			b.WriteString(s[:i+1])
			s = s[i+1:]
			continue
		}
		closeURL := matchBracket(s, closeText+1, '(', ')')
		href, ok := "", false
		if closeURL > 0 {
			href, ok = sanitizeURL(s[closeText+2 : closeURL])
		}
		if !ok {
			b.WriteString(s[:i+1])
			s = s[i+1:]
			continue
		}
		text := s[i+1 : closeText]
		html := escapeHTML(href)
		if strings.TrimSpace(text) != "" {
			html = in.finish(text) // placeholders of earlier patterns only
		}
		b.WriteString(s[:i] + in.put(`<a href="`+escapeAttr(href)+`">`+html+"</a>"))
		s = s[closeURL+1:]
	}
}

// matchBracket returns the index of the bracket closing the one at s[i],
// or -1.
func matchBracket(s string, i int, open, close byte) int {
	depth := 0
	for j := i; j < len(s); j++ {
		switch s[j] {
		case open:
			depth++
		case close:
			if depth--; depth == 0 {
				return j
			}
		}
	}
	return -1
}

var schemeRE = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9+.\-]*):`)

// sanitizeURL is Zulip's check of a link's URL: only a fixed set of
// schemes; no scheme means http://, except for addresses (mailto:),
// site-relative paths and fragments.
func sanitizeURL(u string) (string, bool) {
	u = strings.ReplaceAll(strings.TrimSpace(u), " ", "%20")
	if u == "" || strings.ContainsAny(u, "\n\x00") {
		return "", false
	}
	m := schemeRE.FindStringSubmatch(u)
	if m == nil {
		switch {
		case strings.HasPrefix(u, "/") || strings.HasPrefix(u, "#"):
			return u, true
		case strings.Contains(u, "@") && !strings.Contains(u, "/"):
			return "mailto:" + u, true
		}
		return "http://" + u, true
	}
	switch strings.ToLower(m[1]) {
	case "http", "https", "ftp", "mailto", "tel", "sms":
		return u, true
	}
	return "", false
}

var autolinkSchemeRE = regexp.MustCompile(`(?i)https?://`)

// autolinks links bare http(s) URLs. As Zulip's pattern does, a URL must be
// followed by the end of the text or a space, possibly after punctuation
// that is not part of it; parentheses in the path must pair up (six deep
// at most).
func (in *inliner) autolinks(s string, _ int) string {
	var b strings.Builder
	for {
		loc := autolinkSchemeRE.FindStringIndex(s)
		if loc == nil {
			b.WriteString(s)
			return b.String()
		}
		end := -1
		if startsAfter(s, loc[0], `'"(,:<`) {
			end = urlEnd(s, loc[0], loc[1])
		}
		if end < 0 {
			b.WriteString(s[:loc[1]])
			s = s[loc[1]:]
			continue
		}
		u := s[loc[0]:end]
		b.WriteString(s[:loc[0]] + in.put(`<a href="`+escapeAttr(u)+`">`+escapeHTML(u)+"</a>"))
		s = s[end:]
	}
}

// urlEnd returns where the URL whose host starts at s[host] ends, the
// shortest that Zulip's link pattern accepts, or -1.
func urlEnd(s string, start, host int) int {
	isHost := func(r rune) bool {
		return r == '_' || r == '.' || r == ':' || r == '@' || r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r)
	}
	followOK := func(i int) bool {
		rest := strings.TrimLeft(s[i:], `!:;?),.'">`)
		return rest == "" || isSpaceAt(rest, 0)
	}
	i := host
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !isHost(r) {
			break
		}
		i += n
		if followOK(i) {
			return i
		}
	}
	if i == host || i >= len(s) || s[i] != '/' {
		return -1
	}
	depth := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case unicode.IsSpace(r) || r == '"' || r == 0:
			return -1
		case r == '(':
			if depth++; depth > 6 {
				return -1
			}
		case r == ')':
			if depth == 0 {
				return -1
			}
			depth--
		}
		i += n
		if depth == 0 && followOK(i) {
			return i
		}
	}
	return -1
}
