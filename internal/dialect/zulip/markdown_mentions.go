package zulip

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Mentions, as the inline renderer (markdown_inline.go) renders them and
// reports them for the message's flags.

// mentions are what a rendered message mentions, as Zulip's rendering
// result records them: neither silent mentions, nor those in quotes (which
// Zulip silences), nor text in code, which is never a mention.
type mentions struct {
	UserIDs        []int64 // in order of first mention
	StreamWildcard bool    // @**all**, @**everyone**, @**stream**, @**channel**
	TopicWildcard  bool    // @**topic**
}

func (m *mentions) addUser(id int64) {
	if !slices.Contains(m.UserIDs, id) {
		m.UserIDs = append(m.UserIDs, id)
	}
}

var mentionRE = regexp.MustCompile(`@(_?)\*\*([^*]+)\*\*`)

// mentionAfter are the characters besides spaces a mention may follow.
const mentionAfter = `'"({[/<`

var (
	streamWildcards = map[string]bool{"all": true, "everyone": true, "stream": true, "channel": true}
	idMentionRE     = regexp.MustCompile(`^(.+)?\|([0-9]+)$`)
)

// mentions renders @**Full Name**, @**Name|id**, silent @_**Name** and the
// wildcards @**all** (everyone, stream, channel) and @**topic**. A name
// that is no user is left for **bold**, as Zulip does.
func (in *inliner) mentions(s string, _ int) string {
	return in.replaceMatches(s, mentionRE, mentionAfter, func(m []string) (string, bool) {
		silent, name := m[1] == "_", m[2]
		var class, id, text string
		switch {
		case streamWildcards[name]:
			class, id, text = "user-mention channel-wildcard-mention", "*", name
			in.mentioned.StreamWildcard = in.mentioned.StreamWildcard || !silent
		case name == "topic":
			class, text = "topic-mention", name
			in.mentioned.TopicWildcard = in.mentioned.TopicWildcard || !silent
		default:
			u, ok := in.lookupUser(name)
			if !ok {
				return "", false
			}
			class, id, text = "user-mention", strconv.FormatInt(u.ID, 10), u.FullName
			if in.users == nil {
				in.users = map[int64]mdUser{}
			}
			in.users[u.ID] = u
			if !silent {
				in.mentioned.addUser(u.ID)
			}
		}
		if silent {
			class += " silent"
		} else {
			text = "@" + text
		}
		attrs := ` class="` + class + `"`
		if id != "" {
			attrs += ` data-user-id="` + id + `"`
		}
		return "<span" + attrs + ">" + escapeHTML(text) + "</span>", true
	})
}

func (in *inliner) lookupUser(name string) (mdUser, bool) {
	if in.refs == nil {
		return mdUser{}, false
	}
	if m := idMentionRE.FindStringSubmatch(name); m != nil {
		id, _ := strconv.ParseInt(m[2], 10, 64)
		u, ok := in.refs.byID[id]
		// @**name|id** must name the user with that id.
		return u, ok && (m[1] == "" || m[1] == u.FullName)
	}
	u, ok := in.refs.users[strings.ToLower(name)]
	return u, ok
}

// silenceMentions makes the mentions of a quoted line silent, as Zulip
// does: quoting a message mentions nobody again.
func silenceMentions(l string) string {
	if !strings.Contains(l, "@") {
		return l
	}
	var b strings.Builder
	done := 0
	for i := 0; i < len(l); {
		loc := mentionRE.FindStringSubmatchIndex(l[i:])
		if loc == nil {
			break
		}
		start, end, name := i+loc[0], i+loc[1], l[i+loc[4]:i+loc[5]]
		if !startsAfter(l, start, mentionAfter) {
			i = start + 1
			continue
		}
		b.WriteString(l[done:start] + "@_**" + name + "**")
		done, i = end, end
	}
	b.WriteString(l[done:])
	return b.String()
}
