package zulip

import (
	"encoding/json"
	"strconv"
	"strings"
)

// narrowTerm is one [operator, operand] of a queue's narrow. Zulip applies
// the narrow to message events only.
type narrowTerm struct {
	Op      string  `json:"op"`
	Operand string  `json:"operand,omitempty"`
	IDs     []int64 `json:"ids,omitempty"` // a numeric operand (stream id, user ids)
	Negated bool    `json:"negated,omitempty"`
}

// parseNarrow parses a narrow: a JSON list of [operator, operand] pairs or
// of {"operator","operand","negated"} objects.
func parseNarrow(raw string) ([]narrowTerm, error) {
	var items []json.RawMessage
	if err := json.Unmarshal([]byte(raw), &items); err != nil {
		return nil, badRequest("narrow is not a list")
	}
	terms := make([]narrowTerm, 0, len(items))
	for _, it := range items {
		var op string
		var operand json.RawMessage
		var negated bool
		var pair []json.RawMessage
		var obj struct {
			Operator string          `json:"operator"`
			Operand  json.RawMessage `json:"operand"`
			Negated  bool            `json:"negated"`
		}
		switch {
		case json.Unmarshal(it, &pair) == nil:
			if len(pair) != 2 || json.Unmarshal(pair[0], &op) != nil {
				return nil, badRequest("Invalid narrow: each element must be [operator, operand]")
			}
			operand = pair[1]
		case json.Unmarshal(it, &obj) == nil && obj.Operator != "":
			op, operand, negated = obj.Operator, obj.Operand, obj.Negated
		default:
			return nil, badRequest("Invalid narrow: each element must be [operator, operand]")
		}
		t := narrowTerm{Op: strings.ToLower(op), Negated: negated}
		if strings.HasPrefix(t.Op, "-") { // the search syntax's negation
			t.Op, t.Negated = t.Op[1:], !t.Negated
		}
		switch t.Op {
		case "channel":
			t.Op = "stream"
		case "subject":
			t.Op = "topic"
		case "pm-with":
			t.Op = "dm"
		}
		switch t.Op {
		case "stream", "topic", "sender", "dm", "is":
		default:
			return nil, badRequest("Operator %s not supported.", op)
		}
		var s string
		var n int64
		var ns []int64
		switch {
		case json.Unmarshal(operand, &s) == nil:
			t.Operand = s
		case json.Unmarshal(operand, &n) == nil:
			t.IDs = []int64{n}
		case json.Unmarshal(operand, &ns) == nil:
			t.IDs = ns
		default:
			return nil, badRequest("Invalid narrow operand for %s", op)
		}
		if t.Op == "is" {
			switch strings.ToLower(t.Operand) {
			case "private", "dm":
				t.Operand = "dm"
			case "mentioned":
			default:
				return nil, badRequest("Invalid narrow operand for is: %s", t.Operand)
			}
		}
		terms = append(terms, t)
	}
	return terms, nil
}

// msgFacts is what narrows and visibility look at in a message event.
type msgFacts struct {
	Type             string          `json:"type"` // "stream" or "private"
	SenderID         int64           `json:"sender_id"`
	SenderEmail      string          `json:"sender_email"`
	StreamID         int64           `json:"stream_id"`
	Subject          string          `json:"subject"`
	DisplayRecipient json.RawMessage `json:"display_recipient"`
	Content          string          `json:"content"`
	ContentType      string          `json:"content_type"`
	// Decoded from DisplayRecipient by settle, for facts that many
	// deliveries share.
	settled bool
	parts   []participant
	stream  string
}

type participant struct {
	ID    int64  `json:"id"`
	Email string `json:"email"`
}

func (m *msgFacts) private() bool { return m.Type == "private" || m.Type == "direct" }

// settle decodes the recipient once: the facts are then read, never
// written, by every delivery that shares them.
func (m *msgFacts) settle() {
	m.parts, m.stream, m.settled = m.decodeParticipants(), m.decodeStream(), true
}

func (m *msgFacts) participants() []participant {
	if m.settled {
		return m.parts
	}
	return m.decodeParticipants()
}

func (m *msgFacts) streamName() string {
	if m.settled {
		return m.stream
	}
	return m.decodeStream()
}

func (m *msgFacts) decodeParticipants() []participant {
	var ps []participant
	json.Unmarshal(m.DisplayRecipient, &ps)
	return ps
}

func (m *msgFacts) decodeStream() string {
	var s string
	json.Unmarshal(m.DisplayRecipient, &s)
	return s
}

// matchNarrow reports whether every term accepts the message, for user u.
func matchNarrow(terms []narrowTerm, m *msgFacts, u *user, mentioned bool) bool {
	for _, t := range terms {
		if t.match(m, u, mentioned) == t.Negated {
			return false
		}
	}
	return true
}

func (t *narrowTerm) match(m *msgFacts, u *user, mentioned bool) bool {
	switch t.Op {
	case "stream":
		if m.private() {
			return false
		}
		if len(t.IDs) > 0 {
			return m.StreamID == t.IDs[0]
		}
		return strings.EqualFold(m.streamName(), t.Operand)
	case "topic":
		return !m.private() && strings.EqualFold(m.Subject, t.Operand)
	case "sender":
		if len(t.IDs) > 0 {
			return m.SenderID == t.IDs[0]
		}
		return strings.EqualFold(m.SenderEmail, t.Operand)
	case "is":
		if t.Operand == "dm" {
			return m.private()
		}
		return mentioned
	case "dm":
		if !m.private() {
			return false
		}
		// The conversation with exactly these users (and oneself).
		want := map[string]bool{}
		for _, id := range t.IDs {
			want[strconv.FormatInt(id, 10)] = true
		}
		for _, e := range strings.Split(t.Operand, ",") {
			if e = strings.ToLower(strings.TrimSpace(e)); e != "" {
				want[e] = true
			}
		}
		byID := len(t.IDs) > 0
		got := map[string]bool{}
		for _, p := range m.participants() {
			if p.ID == u.ID {
				continue
			}
			if byID {
				got[strconv.FormatInt(p.ID, 10)] = true
			} else {
				got[strings.ToLower(p.Email)] = true
			}
		}
		delete(want, strconv.FormatInt(u.ID, 10))
		delete(want, strings.ToLower(u.Email))
		if len(got) != len(want) {
			return false
		}
		for k := range want {
			if !got[k] {
				return false
			}
		}
		return true
	}
	return false
}
