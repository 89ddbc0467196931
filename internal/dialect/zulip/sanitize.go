package zulip

import (
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
)

// The renderer escapes everything it does not emit itself; the sanitizer is
// the second line, so that a flaw in the renderer (or HTML that did not come
// from it) still cannot put active markup in a client. Its policy allows
// exactly the markup the renderer emits, which is Zulip's: the block and
// inline elements, mention spans, stream links, code blocks and spoilers
// with their classes and data attributes, and links of the schemes Zulip
// allows (Zulip's own links carry no rel or target; its clients add them).

// sanitizer cleans HTML for delivery. It is safe for concurrent use.
type sanitizer struct{ policy *bluemonday.Policy }

func newSanitizer() *sanitizer {
	p := bluemonday.NewPolicy()
	p.AllowElements("p", "br", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li",
		"h1", "h2", "h3", "h4", "h5", "h6", "hr", "div", "span")
	p.AllowAttrs("start").Matching(regexp.MustCompile(`^[0-9]{1,10}$`)).OnElements("ol")
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^(?:codehilite|spoiler-block|spoiler-header|spoiler-content)$`)).OnElements("div")
	p.AllowAttrs("data-code-language").Matching(regexp.MustCompile(`^[^\x00-\x1f]{1,100}$`)).OnElements("div")
	p.AllowAttrs("aria-hidden").Matching(regexp.MustCompile(`^true$`)).OnElements("div")
	p.AllowAttrs("class").Matching(regexp.MustCompile(
		`^(?:user-mention(?: channel-wildcard-mention)?|topic-mention)(?: silent)?$`)).OnElements("span")
	p.AllowAttrs("data-user-id").Matching(regexp.MustCompile(`^(?:[0-9]{1,19}|\*)$`)).OnElements("span")
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^(?:stream|stream-topic)$`)).OnElements("a")
	p.AllowAttrs("data-stream-id").Matching(regexp.MustCompile(`^[0-9]{1,19}$`)).OnElements("a")
	p.AllowAttrs("href").Matching(linkRE).OnElements("a")
	return &sanitizer{policy: p}
}

// linkRE is a link Zulip makes: of one of the schemes it allows, or
// relative (a path, query or fragment: stream links, uploads). The value is
// matched after the tokenizer decoded its character references. Before the
// scheme, or before the first "/", "?" or "#" of a relative link, there may
// be no space or control character: browsers trim them, and drop tabs and
// newlines, before they read a scheme. (bluemonday's own URL check needs a
// URL that Go can parse, and Zulip links some that it cannot, such as a
// host with a port that is not a number.)
var linkRE = regexp.MustCompile(`^(?s:(?i:https?|ftp|mailto|tel|sms):.*|[^:/?#\x00-\x20\x7f]*(?:[/?#].*)?)$`)

// clean returns s with everything the policy does not allow removed. When
// the policy keeps all of s, s itself is returned, byte for byte as the
// renderer wrote it (Zulip's exact bytes, quotes and entities as Zulip
// writes them): the sanitizer writes every token back in its own escaping,
// so its output is compared with s written back the same way.
func (z *sanitizer) clean(s string) string {
	out := z.policy.Sanitize(s)
	if out == s || out == rewritten(s) {
		return s
	}
	return out
}

// rewritten is s tokenized and written back token by token, as the
// sanitizer writes what it keeps.
func rewritten(s string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/8)
	t := html.NewTokenizer(strings.NewReader(s))
	for t.Next() != html.ErrorToken {
		b.WriteString(t.Token().String())
	}
	return b.String()
}
