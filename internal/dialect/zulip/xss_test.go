package zulip

import (
	"context"
	"encoding/json"
	"io"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/herald-io/herald/internal/eventlog"
)

// emittedAttrs are the attributes of Zulip's rendered markup.
var emittedAttrs = []string{"class", "href", "data-user-id", "data-stream-id", "data-code-language", "aria-hidden", "start"}

// activeMarkup reports what in s could run script or load anything, parsed
// the way a browser tokenizes it: an element or attribute Zulip's renderer
// does not emit, a comment, or a link whose scheme Zulip refuses. "" if s
// is inert.
func activeMarkup(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	for {
		switch z.Next() {
		case html.ErrorToken:
			if z.Err() == io.EOF {
				return ""
			}
			return z.Err().Error()
		case html.CommentToken, html.DoctypeToken:
			return "comment or doctype " + string(z.Raw())
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			t := z.Token()
			if !slices.Contains(emittedTags, t.Data) {
				return "element " + t.String()
			}
			for _, a := range t.Attr {
				if a.Namespace != "" || !slices.Contains(emittedAttrs, a.Key) {
					return "attribute " + a.Key + " in " + t.String()
				}
				if a.Key != "href" {
					continue
				}
				// Browsers drop tabs and newlines anywhere in a URL and
				// spaces and controls around it.
				u := strings.ToLower(strings.Map(func(r rune) rune {
					if r == '\t' || r == '\n' || r == '\r' {
						return -1
					}
					return r
				}, strings.TrimFunc(a.Val, func(r rune) bool { return r <= ' ' })))
				if scheme, _, ok := strings.Cut(u, ":"); ok && !strings.ContainsAny(scheme, "/?#") &&
					!slices.Contains([]string{"http", "https", "ftp", "mailto", "tel", "sms"}, scheme) {
					return "link of scheme " + scheme + " in " + t.String()
				}
			}
		}
	}
}

// TestActiveMarkup: the oracle finds what it must.
func TestActiveMarkup(t *testing.T) {
	for _, bad := range []string{
		`<img src=x onerror=alert(1)>`, `<p onclick="x">a</p>`, `<a href="javascript:alert(1)">x</a>`,
		`<a href=" JaVa&#x09;ScRiPt:alert(1)">x</a>`, `<a href="&#106;avascript:x">x</a>`, `<svg/onload=x>`,
		`<span style="x">a</span>`, `<!-- x -->`, `<p><iframe></iframe></p>`, `<math><mi xlink:href="x">`,
	} {
		if activeMarkup(bad) == "" {
			t.Errorf("activeMarkup(%q) found nothing", bad)
		}
	}
	for _, c := range loadMDCases(t) {
		if msg := activeMarkup(c.Expected); msg != "" {
			t.Errorf("%s: Zulip's own output is active: %s", c.Name, msg)
		}
	}
}

// xssPayloads are messages that try to get markup past the renderer.
var xssPayloads = []string{
	`<img src=x onerror=alert(1)>`,
	`<script>alert(1)</script>`,
	`<svg/onload=alert(1)>`,
	`<iframe src="javascript:alert(1)"></iframe>`,
	`<a href="javascript:alert(1)">x</a>`,
	`<style>*{background:url(javascript:alert(1))}</style>`,
	`<math><mi xlink:href="javascript:alert(1)">x</mi></math>`,
	`<!--<img src=x onerror=alert(1)>-->`,
	`&lt;img src=x onerror=alert(1)&gt; &#60;script&#62;`,
	`[x](javascript:alert(1))`,
	`[x](JaVaScRiPt:alert(1))`,
	`[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)`,
	`[x](vbscript:msgbox(1))`,
	`[x](java&#x09;script:alert(1))`,
	`[x](&#106;avascript:alert(1))`,
	`[x](http://a.org/" onmouseover="alert(1))`,
	`[<img src=x onerror=alert(1)>](http://a.org)`,
	`http://x.org/"><script>alert(1)</script>`,
	`https://x.org/?a=<img/src/onerror=alert(1)>`,
	`**<img src=x onerror=alert(1)>** *<b onmouseover=alert(1)>* ~~<i>~~`,
	"`<script>alert(1)</script>`",
	"```\n<script>alert(1)</script>\n```",
	"``` <img src=x onerror=alert(1)>\ncode\n```",
	"~~~ \"onmouseover=alert(1)\nx\n~~~",
	"```quote\n<img src=x onerror=alert(1)>\n```",
	"```spoiler <img src=x onerror=alert(1)>\n<svg onload=alert(1)>\n```",
	"> <body onload=alert(1)>",
	"# <img src=x onerror=alert(1)>\n* <a href=javascript:x>y</a>\n1. <embed src=x>",
	`@**<img src=x onerror=alert(1)>** @_**Eve <img src=x onerror=alert(1)>** @**Eve <img src=x onerror=alert(1)>**`,
	`#**<svg onload=alert(1)>** #**<svg onload=alert(1)>>"><img src=x onerror=alert(1)>**`,
}

// TestSentPayloadsAreInert: whatever a user sends, an apply_markdown queue
// gets markup with nothing active in it, mentions and stream links of
// names with markup in them included.
func TestSentPayloadsAreInert(t *testing.T) {
	e := newEnv(t, Config{})
	bot := e.addUser("bot@example.com", "Bot")
	eve := e.addUser("eve@example.com", "Eve <img src=x onerror=alert(1)>")
	e.addStream("Denmark")
	e.addStream("<svg onload=alert(1)>")
	q := e.register(eve, url.Values{"event_types": {`["message"]`}, "apply_markdown": {"true"}})
	for _, p := range xssPayloads {
		e.sendStream(bot, "Denmark", "xss", p)
	}
	r := e.poll(context.Background(), eve, q, -1, true)
	evs := r.events()
	if len(evs) != len(xssPayloads) {
		t.Fatalf("%d events, want %d: %s", len(evs), len(xssPayloads), r.Raw)
	}
	for i, ev := range evs {
		m := ev["message"].(map[string]any)
		content, _ := m["content"].(string)
		if msg := activeMarkup(content); msg != "" || m["content_type"] != "text/html" {
			t.Errorf("payload %q\ndelivered %q (%v)\n%s", xssPayloads[i], content, m["content_type"], msg)
		}
	}
}

// forged is a Zulip message event as something other than the dialect's
// send path could append it, whose stored fields carry markup.
func forged(stream int64, sender zuser, extra map[string]any, msg map[string]any) eventlog.Draft {
	m := map[string]any{
		"id": 999, "sender_id": sender.ID, "sender_email": sender.Email, "sender_full_name": "Boss",
		"sender_realm_str": "zulip", "avatar_url": nil, "client": "API", "content": "hello",
		"content_type": "text/x-markdown", "is_me_message": false, "reactions": []any{}, "submessages": []any{},
		"topic_links": []any{}, "timestamp": 1, "type": "stream", "stream_id": stream,
		"display_recipient": "Denmark", "subject": "t", "recipient_id": stream,
	}
	for k, v := range msg {
		m[k] = v
	}
	ev := map[string]any{"type": "message", "flags": []string{}, "message": m}
	for k, v := range extra {
		ev[k] = v
	}
	b, _ := json.Marshal(ev)
	return eventlog.Draft{Topic: "zulip.zulip.message", Type: "message", Data: b}
}

// TestForgedRenderedContentIsInert: events appended straight through the
// core under the dialect's topics, with HTML where herald keeps rendered
// content or where a message's HTML would be, reach apply_markdown queues
// with nothing active and raw queues as Markdown: rendered content is
// never taken from the log.
func TestForgedRenderedContentIsInert(t *testing.T) {
	e := newEnv(t, Config{})
	iago := e.addUser("iago@example.com", "Iago")
	e.addStream("Denmark")
	ctx := context.Background()
	qhtml := e.register(iago, url.Values{"event_types": {`["message","stream"]`}, "apply_markdown": {"true"}})
	qraw := e.register(iago, url.Values{"event_types": {`["message","stream"]`}})
	payloads := []string{
		`<img src=x onerror=alert(1)>`, `<script>alert(1)</script>`, `<a href="javascript:alert(1)">x</a>`,
		`<span class="user-mention" data-user-id="1" onmouseover="alert(1)">@Iago</span>`,
		`<div class="codehilite" style="background:url(javascript:alert(1))"><svg onload=alert(1)></div>`,
		`<p><a href=" java&#x09;script:alert(1)">x</a></p><iframe srcdoc="<script>alert(1)</script>">`,
	}
	var drafts []eventlog.Draft
	for _, p := range payloads {
		drafts = append(drafts,
			forged(1, iago, map[string]any{renderedKey: p}, nil),
			forged(1, iago, nil, map[string]any{"content": p, "content_type": "text/html"}),
			forged(1, iago, map[string]any{renderedKey: p}, map[string]any{"content": p}))
	}
	stream, _ := json.Marshal(map[string]any{"type": "stream", "op": "create", "streams": []any{map[string]any{
		"stream_id": 7, "name": "Forged", "description": "*hi*", "rendered_description": payloads[0]}}})
	drafts = append(drafts, eventlog.Draft{Topic: "zulip.zulip.stream", Type: "stream", Data: stream})
	if _, err := e.core.Append(ctx, dialectName, drafts); err != nil {
		t.Fatal(err)
	}

	r := e.poll(ctx, iago, qhtml, -1, true)
	if len(r.events()) != len(drafts) {
		t.Fatalf("html queue: %d events, want %d: %s", len(r.events()), len(drafts), r.Raw)
	}
	for i, ev := range r.events() {
		var content any
		if m, ok := ev["message"].(map[string]any); ok {
			content = m["content"]
			if m["content_type"] != "text/html" {
				t.Errorf("event %d: content_type %v", i, m["content_type"])
			}
		} else {
			content = ev["streams"].([]any)[0].(map[string]any)["rendered_description"]
		}
		s, _ := content.(string)
		if msg := activeMarkup(s); msg != "" {
			t.Errorf("event %d (%s): delivered %q\n%s", i, ev["type"], s, msg)
		}
		if _, leaked := ev[renderedKey]; leaked {
			t.Errorf("event %d: %s leaked", i, renderedKey)
		}
	}
	r = e.poll(ctx, iago, qraw, -1, true)
	for i, ev := range r.events() {
		if m, ok := ev["message"].(map[string]any); ok && m["content_type"] != "text/x-markdown" {
			t.Errorf("raw queue, event %d: content_type %v (%v): a raw queue gets Markdown", i, m["content_type"], m["content"])
		}
	}
}

// TestSanitizer: HTML that did not come from the renderer loses what is
// active in it and keeps what Zulip's markup allows.
func TestSanitizer(t *testing.T) {
	for in, want := range map[string]string{
		`<img src=x onerror=alert(1)>hi`: `hi`,
		`<p onclick="x">a</p>`:           `<p>a</p>`,
		`<span class="user-mention" data-user-id="5" onmouseover="x">@Boss</span>`:       `<span class="user-mention" data-user-id="5">@Boss</span>`,
		`<span class="evil" data-user-id="5 x">@Boss</span>`:                             `<span>@Boss</span>`,
		`<a href="javascript:alert(1)">x</a>`:                                            `x`,
		`<a href="java&#x09;script:alert(1)">x</a>`:                                      `x`,
		`<a class="stream" data-stream-id="1" href="/#narrow/channel/1-a">#a</a>`:        `<a class="stream" data-stream-id="1" href="/#narrow/channel/1-a">#a</a>`,
		`<a href="https://x.org/?a=1&amp;b=2" target="_blank">x</a>`:                     `<a href="https://x.org/?a=1&amp;b=2">x</a>`,
		`<div class="codehilite" style="x"><pre><span></span><code>a</code></pre></div>`: `<div class="codehilite"><pre><span></span><code>a</code></pre></div>`,
		`<ol start="3" type="a"><li>x</li></ol>`:                                         `<ol start="3"><li>x</li></ol>`,
		`<script>alert(1)</script><style>p{}</style><!-- c -->ok`:                        `ok`,
		`<p>it's "quoted" &amp; &nbsp;</p>`:                                              `<p>it's "quoted" &amp; &nbsp;</p>`,
	} {
		got := san.clean(in)
		if got != want {
			t.Errorf("clean(%q)\n got %q\nwant %q", in, got, want)
		}
		if msg := activeMarkup(got); msg != "" {
			t.Errorf("clean(%q) = %q: %s", in, got, msg)
		}
	}
}

// FuzzSanitizer: whatever HTML goes in, nothing active comes out.
func FuzzSanitizer(f *testing.F) {
	for _, c := range loadMDCases(f) {
		f.Add(c.Expected)
	}
	for _, p := range xssPayloads {
		f.Add(p)
	}
	f.Add(`<a href=" java&#x09;script:alert(1)">x</a><span class="user-mention" onclick=x>`)
	f.Fuzz(func(t *testing.T, s string) {
		if got := san.clean(s); activeMarkup(got) != "" {
			t.Fatalf("clean(%q) = %q: %s", s, got, activeMarkup(got))
		}
	})
}
