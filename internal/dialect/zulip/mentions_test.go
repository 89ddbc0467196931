package zulip

import (
	"context"
	"fmt"
	"net/url"
	"testing"
)

// TestMentionFlags: a message's mention flags come from the mentions its
// rendering holds, as Zulip's do: @**Name** and @**Name|id** mention,
// silent mentions and mentions in code or in quotes (which Zulip
// silences) do not; stream wildcards flag every recipient, the sender too,
// with stream_wildcard_mentioned and the legacy wildcard_mentioned, and
// @**topic** flags the topic's participants in a stream. The narrow
// is:mentioned follows the flags.
func TestMentionFlags(t *testing.T) {
	e := newEnv(t, Config{})
	bot := e.addUser("bot@example.com", "Bot")
	iago := e.addUser("iago@example.com", "Iago")
	hamlet := e.addUser("hamlet@example.com", "King Hamlet")
	e.addStream("Denmark")
	users := map[string]zuser{"bot": bot, "iago": iago, "hamlet": hamlet}
	const wild = "[stream_wildcard_mentioned wildcard_mentioned]"
	const ownWild = "[read stream_wildcard_mentioned wildcard_mentioned]"
	cases := []struct {
		name, content string
		dm            bool              // a direct message from bot to iago
		want          map[string]string // flags by user; absent: []
	}{
		{"name", "hi @**Iago**", false, map[string]string{"iago": "[mentioned]"}},
		{"name and id", fmt.Sprintf("hi @**Iago|%d**", iago.ID), false, map[string]string{"iago": "[mentioned]"}},
		{"id only", fmt.Sprintf("hi @**|%d**", hamlet.ID), false, map[string]string{"hamlet": "[mentioned]"}},
		{"name in another case", "hi @**king hamlet**", false, map[string]string{"hamlet": "[mentioned]"}},
		{"two users", "@**Iago** and @**King Hamlet**", false, map[string]string{"iago": "[mentioned]", "hamlet": "[mentioned]"}},
		{"oneself", "note to @**Bot**", false, map[string]string{"bot": "[read mentioned]"}},
		{"silent", "thanks @_**Iago**", false, nil},
		{"name and the id of another", fmt.Sprintf("@**Iago|%d**", hamlet.ID), false, nil},
		{"unknown id", "@**Iago|999**", false, nil},
		{"unknown name", "@**Nobody**", false, nil},
		{"not after a word", "mail@**Iago**", false, nil},
		{"code span", "`@**Iago**`", false, nil},
		{"code block", "```\n@**Iago** @**all**\n```", false, nil},
		{"indented code", "    @**Iago**", false, nil},
		{"quote", "> @**Iago** said @**all**", false, nil},
		{"quote fence", "```quote\n@**Iago** said\n```", false, nil},
		{"code in a quote fence", "```quote\n~~~\n@**Iago**\n~~~\n```", false, nil},
		{"after a quote", "> @**King Hamlet**\n\n@**Iago**", false, map[string]string{"iago": "[mentioned]"}},
		{"spoiler", "```spoiler x\n@**Iago**\n```", false, map[string]string{"iago": "[mentioned]"}},
		{"all", "@**all** hello", false, map[string]string{"bot": ownWild, "iago": wild, "hamlet": wild}},
		{"everyone", "@**everyone**", false, map[string]string{"bot": ownWild, "iago": wild, "hamlet": wild}},
		{"stream", "@**stream**", false, map[string]string{"bot": ownWild, "iago": wild, "hamlet": wild}},
		{"channel", "@**channel**", false, map[string]string{"bot": ownWild, "iago": wild, "hamlet": wild}},
		// herald does not track who took part in a topic: every recipient
		// counts as a participant.
		{"topic", "@**topic**", false, map[string]string{"bot": "[read topic_wildcard_mentioned wildcard_mentioned]",
			"iago": "[topic_wildcard_mentioned wildcard_mentioned]", "hamlet": "[topic_wildcard_mentioned wildcard_mentioned]"}},
		{"dm topic", "@**topic**", true, map[string]string{"bot": "[read]"}},
		{"silent wildcard", "@_**all**", false, nil},
		{"silent topic", "@_**topic**", false, nil},
		{"wildcard in code", "`@**all**`", false, nil},
		{"wildcard and name", "@**all** @**Iago**", false, map[string]string{"bot": ownWild, "iago": "[mentioned stream_wildcard_mentioned wildcard_mentioned]", "hamlet": wild}},
		{"dm", "psst @**Iago**", true, map[string]string{"bot": "[read]", "iago": "[mentioned]"}},
		{"dm wildcard", "@**all** of us", true, map[string]string{"bot": ownWild, "iago": wild}},
		{"dm code", "`@**Iago**`", true, map[string]string{"bot": "[read]"}},
	}
	ctx := context.Background()
	queues := map[string]string{}
	mentionedQueues := map[string]string{}
	for name, u := range users {
		queues[name] = e.register(u, url.Values{"event_types": {`["message"]`}})
		mentionedQueues[name] = e.register(u, url.Values{"event_types": {`["message"]`}, "narrow": {`[["is","mentioned"]]`}})
	}
	ids := make([]int64, len(cases))
	for i, c := range cases {
		if c.dm {
			r := e.call(ctx, bot, "POST", "/api/v1/messages", url.Values{
				"type": {"private"}, "to": {`["iago@example.com"]`}, "content": {c.content}}, form)
			if r.Status != 200 {
				t.Fatalf("%s: %d %s", c.name, r.Status, r.Raw)
			}
			ids[i] = int64(r.Body["id"].(float64))
		} else {
			ids[i] = e.sendStream(bot, "Denmark", "t", c.content)
		}
	}
	for name, u := range users {
		flags := map[int64]string{}
		for _, ev := range e.poll(ctx, u, queues[name], -1, true).events() {
			flags[int64(ev["message"].(map[string]any)["id"].(float64))] = fmt.Sprint(ev["flags"])
		}
		narrowed := map[int64]bool{}
		for _, ev := range e.poll(ctx, u, mentionedQueues[name], -1, true).events() {
			narrowed[int64(ev["message"].(map[string]any)["id"].(float64))] = true
		}
		for i, c := range cases {
			want, ok := c.want[name]
			if !ok {
				want = "[]"
				if name == "bot" {
					want = "[read]"
				}
			}
			got, received := flags[ids[i]]
			if c.dm && name == "hamlet" {
				if received {
					t.Errorf("%s: hamlet received a direct message to iago", c.name)
				}
				continue
			}
			if got != want {
				t.Errorf("%s: %q to %s: flags %s, want %s", c.name, c.content, name, got, want)
			}
			if isMentioned := want != "[]" && want != "[read]"; narrowed[ids[i]] != isMentioned {
				t.Errorf("%s: %q: is:mentioned queue of %s got it: %v, want %v", c.name, c.content, name, narrowed[ids[i]], isMentioned)
			}
		}
	}
}

// TestRenderReportsMentions: the renderer reports the mentions it
// rendered, and renders those of a quote silent, as Zulip does.
func TestRenderReportsMentions(t *testing.T) {
	for _, c := range []struct {
		in, html string
		want     mentions
	}{
		{"@**Iago** @**iago** @**Iago|11**", `<p><span class="user-mention" data-user-id="11">@Iago</span> ` +
			`<span class="user-mention" data-user-id="11">@Iago</span> <span class="user-mention" data-user-id="11">@Iago</span></p>`,
			mentions{UserIDs: []int64{11}}},
		{"@**Iago**@**King Hamlet**", `<p><span class="user-mention" data-user-id="11">@Iago</span>@<strong>King Hamlet</strong></p>`,
			mentions{UserIDs: []int64{11}}},
		// Zulip silences a quote's lines before anything else, code spans
		// included.
		{"> @**Iago** and @**all**, `@**Iago** @**Iago**`", "<blockquote>\n" + `<p><span class="user-mention silent" data-user-id="11">Iago</span> and ` +
			`<span class="user-mention channel-wildcard-mention silent" data-user-id="*">all</span>, <code>@**Iago** @_**Iago**</code></p>` + "\n</blockquote>",
			mentions{}},
		{"```quote\n@**topic**\n~~~\n@**Iago**\n~~~\n```\n@**topic**", "<blockquote>\n" + `<p><span class="topic-mention silent">topic</span></p>` +
			"\n" + `<div class="codehilite"><pre><span></span><code>@**Iago**` + "\n</code></pre></div>\n</blockquote>\n" +
			`<p><span class="topic-mention">@topic</span></p>`,
			mentions{TopicWildcard: true}},
		{"@_**Iago** @_**all** @**everyone**", `<p><span class="user-mention silent" data-user-id="11">Iago</span> ` +
			`<span class="user-mention channel-wildcard-mention silent" data-user-id="*">all</span> ` +
			`<span class="user-mention channel-wildcard-mention" data-user-id="*">@everyone</span></p>`,
			mentions{StreamWildcard: true}},
	} {
		r := render(c.in, testRefs)
		if r.HTML != c.html || fmt.Sprint(r.Mentions) != fmt.Sprint(c.want) {
			t.Errorf("render(%q)\n got %q %+v\nwant %q %+v", c.in, r.HTML, r.Mentions, c.html, c.want)
		}
	}
}
