package native

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/topic"
)

// publishItem is one event in a publish request.
type publishItem struct {
	Topic string          `json:"topic"`
	Type  string          `json:"type"`
	Data  json.RawMessage `json:"data"`
	ID    string          `json:"id"`
}

// parsePublish parses a publish body: one event object or an array of them.
// Unknown fields are rejected, so a misspelt field is an error, not a loss.
func parsePublish(body []byte) ([]eventlog.Draft, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, badRequest("empty body; send an event object or an array of them")
	}
	var items []publishItem
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var err error
	if body[0] == '[' {
		err = dec.Decode(&items)
	} else {
		var one publishItem
		err = dec.Decode(&one)
		items = []publishItem{one}
	}
	if err != nil {
		return nil, badRequest("body is not a valid event: %v", err)
	}
	if dec.More() {
		return nil, badRequest("trailing data after the JSON value")
	}
	if len(items) == 0 {
		return nil, badRequest("no events")
	}
	if len(items) > MaxPublish {
		return nil, badRequest("%d events; at most %d per request", len(items), MaxPublish)
	}
	drafts := make([]eventlog.Draft, len(items))
	for i, it := range items {
		if err := topic.Validate(it.Topic); err != nil {
			return nil, fmt.Errorf("event %d: %w", i, err)
		}
		if it.Type == "" {
			it.Type = "event"
		}
		if len(it.Type) > 128 {
			return nil, badRequest("event %d: type longer than 128 bytes", i)
		}
		data := it.Data
		if len(data) == 0 {
			data = json.RawMessage("null")
		} else {
			// Store compact JSON: it is copied into every delivery.
			var buf bytes.Buffer
			if err := json.Compact(&buf, data); err != nil {
				return nil, badRequest("event %d: data: %v", i, err)
			}
			data = buf.Bytes()
		}
		if !utf8.Valid(data) {
			// Stored as is, one such event would make every page of answers
			// that holds it unreadable to a strict JSON reader.
			return nil, badRequest("event %d: data is not valid UTF-8", i)
		}
		drafts[i] = eventlog.Draft{ID: it.ID, Topic: it.Topic, Type: it.Type, Data: data}
	}
	return drafts, nil
}

// readParams are the query parameters of the reading endpoints.
type readParams struct {
	filter    topic.Filter
	hasTopics bool
	after     uint64
	hasAfter  bool
	earliest  bool // after=earliest: the oldest event retention kept
	limit     int
	wait      time.Duration
}

// parseReadParams parses topics, after, limit and wait; each is optional.
func parseReadParams(q url.Values) (readParams, error) { return readParamsOf(valuesQuery(q)) }

// parseReadQuery is parseReadParams of a raw query, without url.Values.
func parseReadQuery(raw string) (readParams, error) {
	var room [8]queryParam
	return readParamsOf(parseQuery(raw, room[:0]))
}

func readParamsOf(q query) (readParams, error) {
	p := readParams{limit: DefaultLimit}
	for _, qp := range q {
		switch qp.name {
		case "topics", "after", "limit", "wait", "access_token":
			if qp.n > 1 {
				return p, badRequest("%s is given %d times", qp.name, qp.n)
			}
		default:
			return p, badRequest("unknown query parameter %q", qp.name)
		}
	}
	var err error
	if v, ok := q.get("topics"); ok {
		if p.filter, err = topic.ParseFilter(v); err != nil {
			return p, fmt.Errorf("topics: %w", err)
		}
		p.hasTopics = v != ""
	}
	switch v, _ := q.get("after"); v {
	case "":
	case "earliest":
		p.earliest = true
	default:
		if p.after, err = strconv.ParseUint(v, 10, 64); err != nil {
			return p, badRequest("after must be a sequence number or earliest, not %q", v)
		}
		p.hasAfter = true
	}
	if v, _ := q.get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			return p, badRequest("limit must be 1..%d, not %q", MaxLimit, v)
		}
		p.limit = n
	}
	if v, _ := q.get("wait"); v != "" {
		if p.wait, err = parseWait(v); err != nil {
			return p, err
		}
	}
	return p, nil
}

// parseWait accepts a Go duration ("30s") or whole seconds ("30").
func parseWait(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		n, nerr := strconv.Atoi(strings.TrimSpace(v))
		if nerr != nil {
			return 0, badRequest("wait must be a duration like 30s, not %q", v)
		}
		d = time.Duration(n) * time.Second
	}
	if d < 0 || d > MaxWait {
		return 0, badRequest("wait must be between 0 and %s", MaxWait)
	}
	return d, nil
}
