package route

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/eventlog"
)

// Plan is what an action does with one event: an append of a native event,
// or a request to one of herald's own dialect APIs.
type Plan struct {
	Kind   string `json:"kind"`
	Method string `json:"method,omitempty"`
	Path   string `json:"path,omitempty"`
	Body   string `json:"body,omitempty"`
	Event  *Event `json:"event,omitempty"` // native.publish
	// EventID is the id the action's events are stored with.
	EventID string `json:"event_id"`
	ctype   string
}

// Event is the native event a native.publish action appends.
type Event struct {
	Topic string          `json:"topic"`
	Type  string          `json:"type"`
	Data  json.RawMessage `json:"data,omitempty"`
}

// ErrParams wraps parameters an action cannot use.
var ErrParams = errors.New("bad params")

// plan turns an action's parameters into what it does.
func plan(kind string, p map[string]any) (Plan, error) {
	switch kind {
	case "native.publish":
		t, _ := p["topic"].(string)
		if t == "" {
			return Plan{}, fmt.Errorf("%w: native.publish needs a topic", ErrParams)
		}
		typ, _ := p["type"].(string)
		if typ == "" {
			typ = "event" // as the native API's publish
		}
		var data json.RawMessage
		if d, ok := p["data"]; ok {
			raw, err := json.Marshal(d)
			if err != nil {
				return Plan{}, fmt.Errorf("%w: data: %v", ErrParams, err)
			}
			data = raw
		}
		return Plan{Kind: kind, Event: &Event{Topic: t, Type: typ, Data: data}}, nil
	case "zulip.message":
		form := url.Values{}
		typ, _ := p["type"].(string)
		if typ == "" {
			typ = "stream"
		}
		form.Set("type", typ)
		switch to := p["to"].(type) {
		case string:
			form.Set("to", to)
		case []any:
			raw, _ := json.Marshal(to)
			form.Set("to", string(raw))
		default:
			return Plan{}, fmt.Errorf("%w: zulip.message needs to: a stream name or a list of emails", ErrParams)
		}
		if t, ok := p["topic"].(string); ok {
			form.Set("topic", t)
		}
		content, _ := p["content"].(string)
		if content == "" {
			return Plan{}, fmt.Errorf("%w: zulip.message needs content", ErrParams)
		}
		form.Set("content", content)
		return Plan{Kind: kind, Method: http.MethodPost, Path: "/api/v1/messages", Body: form.Encode(),
			ctype: "application/x-www-form-urlencoded"}, nil
	case "hue.put":
		res, _ := p["resource"].(string)
		typ, id, ok := strings.Cut(res, "/")
		if !ok || typ == "" || id == "" || strings.ContainsAny(id, "/?#") {
			return Plan{}, fmt.Errorf("%w: hue.put needs resource: '<type>/<id>', like 'light/…'", ErrParams)
		}
		body, err := json.Marshal(p["body"])
		if err != nil || p["body"] == nil {
			return Plan{}, fmt.Errorf("%w: hue.put needs body: the resource's fields to set", ErrParams)
		}
		return Plan{Kind: kind, Method: http.MethodPut, Path: "/clip/v2/resource/" + url.PathEscape(typ) + "/" + url.PathEscape(id),
			Body: string(body), ctype: "application/json"}, nil
	}
	return Plan{}, fmt.Errorf("%w: unknown action %q", ErrParams, kind)
}

// ErrRefused wraps a target's refusal of an action: the dialect's status
// and answer.
var ErrRefused = errors.New("target refused")

// maxAnswer bounds what is kept of a refusing dialect's answer.
const maxAnswer = 512

// do carries out p as key (nil: herald's own, for native.publish).
func (r *Runner) do(ctx context.Context, p Plan, key *auth.Key) error {
	ctx = dialect.WithEventID(ctx, p.EventID)
	if p.Event != nil {
		if key != nil {
			ctx = dialect.WithKey(ctx, key)
		}
		_, err := r.core.Append(ctx, "native", []eventlog.Draft{{Topic: p.Event.Topic, Type: p.Event.Type, Data: p.Event.Data}})
		return err
	}
	if key == nil {
		return fmt.Errorf("%w: %s acts as a key", ErrParams, p.Kind)
	}
	req, err := http.NewRequestWithContext(dialect.ActAs(ctx, key), p.Method, p.Path, strings.NewReader(p.Body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", p.ctype)
	req.Header.Set("User-Agent", "herald-route")
	req.RemoteAddr = "route"
	w := &dialect.Answer{Limit: maxAnswer}
	r.api.ServeHTTP(w, req)
	w.WriteHeader(http.StatusOK) // a handler that wrote nothing
	if w.Status >= 300 || refusedInBody(w.Body.Bytes()) {
		return fmt.Errorf("%w: %s %s: %d %s", ErrRefused, p.Method, p.Path, w.Status, strings.TrimSpace(w.Body.String()))
	}
	return nil
}

// refusedInBody: a Hue answer can be 200 with errors, a Zulip one has its
// result field.
func refusedInBody(b []byte) bool {
	var v struct {
		Result string            `json:"result"`
		Errors []json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(b, &v) != nil {
		return false
	}
	return v.Result == "error" || len(v.Errors) > 0
}
