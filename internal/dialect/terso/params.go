package terso

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/herald-io/herald/internal/topic"
)

// Limits of the Jetstream API (documented by Jetstream).
const (
	DefaultLimit    = 100
	MaxLimit        = 512
	MaxDeleteEvents = 100
	MaxBody         = 64 << 10 // a delete body: 100 GUIDs fit many times over
)

// getParams are the arguments of Get Events.
type getParams struct {
	limit        int
	device       string // "" for every device
	typ          string // lower-case topic token; "" for every type
	eventVersion int    // 0 for every version
}

func (p getParams) filtered() bool { return p.device != "" || p.typ != "" || p.eventVersion != 0 }

// pattern is the topic pattern of the type and device filters.
func (p getParams) pattern() string {
	dev, typ := p.device, p.typ
	if dev == "" {
		dev = "*"
	}
	if typ == "" {
		typ = "*"
	}
	return "jetstream." + dev + "." + typ
}

// parseGetParams reads the limit (the path segment of /3/events/{limit},
// or else a limit query parameter) and the query filters. Query names are
// matched without regard to case, as ASP.NET binds them; unknown ones are
// ignored, as there. sort is accepted and ignored: events are always
// returned oldest first.
func parseGetParams(pathLimit string, q url.Values) (getParams, error) {
	p := getParams{limit: DefaultLimit}
	vals := map[string]string{}
	for name, vs := range q {
		name = strings.ToLower(name)
		if _, seen := vals[name]; seen || len(vs) > 1 {
			return p, invalid(name, "The value is given more than once.")
		}
		if len(vs) == 1 {
			vals[name] = strings.TrimSpace(vs[0])
		}
	}
	limit, fromPath := pathLimit, pathLimit != ""
	if !fromPath {
		limit = vals["limit"]
	}
	if limit != "" || fromPath {
		n, err := strconv.Atoi(limit)
		if err != nil || n < 1 || n > MaxLimit {
			return p, invalid("limit", fmt.Sprintf("The value '%s' is not valid for limit: use a number from 1 to %d.", clip(limit), MaxLimit))
		}
		p.limit = n
	}
	if d := vals["device"]; d != "" {
		if err := validDevice(d); err != nil {
			return p, invalid("device", err.Error())
		}
		p.device = d
	}
	if t := vals["type"]; t != "" {
		t = strings.ToLower(t)
		if err := validDevice(t); err != nil {
			return p, invalid("type", fmt.Sprintf("The value '%s' is not an event type.", clip(t)))
		}
		p.typ = t
	}
	if v := vals["eventversion"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return p, invalid("eventversion", fmt.Sprintf("The value '%s' is not valid for eventversion.", clip(v)))
		}
		p.eventVersion = n
	}
	return p, nil
}

// validDevice checks that a device name can be one token of a topic.
func validDevice(d string) error {
	if d == "" || strings.ContainsAny(d, ".*>") || topic.Validate(d) != nil {
		return fmt.Errorf("the device name %q must be letters, digits, '-', '_' or ':'", clip(d))
	}
	return nil
}

// clip shortens a value quoted back in an error message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// deleteRequest is the body of Delete Events. The .NET SDK serialises both
// fields, the unused one as null, so null counts as absent.
type deleteRequest struct {
	BatchID  string
	EventIDs []string // canonical lower-case GUIDs, without duplicates
}

// parseDelete parses and validates a Delete Events body: exactly one of
// BatchId and EventIds (at most 100), each a GUID. Field names match
// without regard to case, as the Web API's JSON binder does.
func parseDelete(body []byte) (deleteRequest, error) {
	var raw struct {
		BatchID  *string  `json:"BatchId"`
		EventIDs []string `json:"EventIds"`
	}
	var req deleteRequest
	if len(bytes.TrimSpace(body)) == 0 {
		return req, invalid("request", "A body with BatchId or EventIds is required.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&raw); err != nil {
		return req, invalid("request", "The body is not a JSON object with BatchId or EventIds: "+clip(err.Error()))
	}
	if dec.More() {
		return req, invalid("request", "The body has data after its JSON value.")
	}
	hasBatch, hasIDs := raw.BatchID != nil, raw.EventIDs != nil
	switch {
	case hasBatch && hasIDs:
		return req, invalid("request", "You may not pass both BatchId and EventIds at the same time.")
	case !hasBatch && !hasIDs:
		return req, invalid("request", "Either BatchId or EventIds is required.")
	case hasBatch:
		id, ok := parseAccessKey(*raw.BatchID) // a GUID, like an access key
		if !ok {
			return req, invalid("BatchId", fmt.Sprintf("The value '%s' is not a valid GUID.", clip(*raw.BatchID)))
		}
		req.BatchID = id
		return req, nil
	}
	if len(raw.EventIDs) == 0 {
		return req, invalid("EventIds", "At least one event id is required.")
	}
	if len(raw.EventIDs) > MaxDeleteEvents {
		return req, invalid("EventIds", fmt.Sprintf("At most %d event ids may be deleted at once.", MaxDeleteEvents))
	}
	seen := make(map[string]bool, len(raw.EventIDs))
	for _, s := range raw.EventIDs {
		id, ok := parseAccessKey(s)
		if !ok {
			return req, invalid("EventIds", fmt.Sprintf("The value '%s' is not a valid GUID.", clip(s)))
		}
		if !seen[id] {
			seen[id] = true
			req.EventIDs = append(req.EventIDs, id)
		}
	}
	return req, nil
}
