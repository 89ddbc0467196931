package zulip

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Bounds on request parameters.
const (
	maxParams     = 100 // distinct parameters in one request
	maxParamBytes = 64 << 10
)

// params are a request's parameters as Zulip reads them: the query string
// merged with a form-urlencoded or multipart body (a body value wins, and
// of a name sent twice the last value, as Django's QueryDict has it).
// Zulip's non-string values are JSON text ("true", "-1", `["message"]`).
// python-zulip-api sends form bodies, also on DELETE; zulip-js sends
// multipart bodies on POST and the query string on GET and DELETE.
//
// A request has a few parameters (at most maxParams), so they are a list
// searched in order: a poll's three cost no map.
type params struct {
	list []param
	buf  [4]param // list's first backing array: most requests fit
}

type param struct {
	name, value string
	used        bool // read, or accepted without acting on it
}

// readParams reads r's parameters; the body must already be bounded.
func readParams(r *http.Request) (*params, error) {
	var body []byte
	if r.Body != nil && r.ContentLength != 0 { // 0: none (-1: chunked, unknown)
		b, err := io.ReadAll(r.Body)
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return nil, err
			}
			return nil, badRequest("Could not read the request body")
		}
		body = b
	}
	return parseParams(r.URL.RawQuery, r.Header.Get("Content-Type"), body)
}

// parseParams parses a query string and a body of the given content type.
// Bad input gives a Zulip BAD_REQUEST error.
func parseParams(query, contentType string, body []byte) (*params, error) {
	p := &params{}
	p.list = p.buf[:0]
	if err := p.addQuery(query); err != nil {
		return nil, badRequest("Malformed query string")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return p, nil
	}
	mt, mp, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = "application/x-www-form-urlencoded" // what curl -d and requests send without a type
	}
	switch mt {
	case "application/x-www-form-urlencoded":
		if err := p.addQuery(string(body)); err != nil {
			return nil, badRequest("Malformed form body")
		}
		return p, nil
	case "multipart/form-data":
		return p, p.addMultipart(body, mp["boundary"])
	default:
		return nil, badRequest("Unsupported content type %q: send form or multipart parameters", mt)
	}
}

// errBadQuery is addQuery's error for what url.ParseQuery refuses.
var errBadQuery = errors.New("malformed query")

// addQuery adds the parameters of a query string (or a form body), as
// url.ParseQuery reads them: pairs separated by '&' (a ';' is an error),
// each name and value unescaped; empty pairs are skipped.
func (p *params) addQuery(q string) error {
	for q != "" {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		if strings.Contains(pair, ";") {
			return errBadQuery
		}
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, err := url.QueryUnescape(k)
		if err != nil {
			return errBadQuery
		}
		if v, err = url.QueryUnescape(v); err != nil {
			return errBadQuery
		}
		if err := p.set(k, v); err != nil {
			return err
		}
	}
	return nil
}

// find returns the index of the parameter name; -1 if absent.
func (p *params) find(name string) int {
	for i := range p.list {
		if p.list[i].name == name {
			return i
		}
	}
	return -1
}

func (p *params) set(k, v string) error {
	if len(v) > maxParamBytes {
		return badRequest("Parameter %q is too long", k)
	}
	if i := p.find(k); i >= 0 {
		p.list[i].value = v
		return nil
	}
	if len(p.list) >= maxParams {
		return badRequest("Too many parameters")
	}
	p.list = append(p.list, param{name: k, value: v})
	return nil
}

func (p *params) addMultipart(body []byte, boundary string) error {
	if boundary == "" {
		return badRequest("Malformed multipart body: no boundary")
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for n := 0; ; n++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil || n > maxParams {
			return badRequest("Malformed multipart body")
		}
		name := part.FormName()
		v, err := io.ReadAll(io.LimitReader(part, maxParamBytes+1))
		part.Close()
		if err != nil {
			return badRequest("Malformed multipart body")
		}
		if name == "" || part.FileName() != "" {
			continue // files are for the upload endpoint, not here
		}
		if err := p.set(name, string(v)); err != nil {
			return err
		}
	}
}

// all returns the parameters as url.Values.
func (p *params) all() url.Values {
	v := make(url.Values, len(p.list))
	for _, pr := range p.list {
		v.Set(pr.name, pr.value)
	}
	return v
}

// str returns a string parameter as sent (strings are not JSON-encoded).
func (p *params) str(name string) (string, bool) {
	i := p.find(name)
	if i < 0 {
		return "", false
	}
	p.list[i].used = true
	return p.list[i].value, true
}

// json decodes a JSON-valued parameter into out; ok is false when absent.
func (p *params) json(name string, out any) (ok bool, err error) {
	v, ok := p.str(name)
	if !ok {
		return false, nil
	}
	return true, decodeParam(name, v, out)
}

// decodeParam decodes v, the JSON value of parameter name, into out.
func decodeParam(name, v string, out any) error {
	if !json.Valid([]byte(v)) {
		return badRequest("Argument \"%s\" is not valid JSON.", name)
	}
	if err := json.Unmarshal([]byte(v), out); err != nil {
		return badRequest("%s is not %s", name, describe(out))
	}
	return nil
}

func describe(out any) string {
	switch out.(type) {
	case *bool, **bool:
		return "a boolean"
	case *int64, **int64:
		return "an integer"
	case *[]string:
		return "a list of strings"
	case *map[string]any, *map[string]json.RawMessage:
		return "a dict"
	}
	return "of the expected type"
}

// boolean returns a JSON boolean parameter, def when absent. JSON null
// counts as absent, as zulip-js sends "null" for unset values.
func (p *params) boolean(name string, def bool) (bool, error) {
	v, ok := p.str(name)
	switch {
	case !ok || v == "null":
		return def, nil
	case v == "true":
		return true, nil
	case v == "false":
		return false, nil
	}
	var b *bool
	if err := decodeParam(name, v, &b); err != nil {
		return false, err
	}
	if b == nil {
		return def, nil
	}
	return *b, nil
}

// integer returns a JSON integer parameter; ok is false when absent or null.
func (p *params) integer(name string) (n int64, ok bool, err error) {
	s, present := p.str(name)
	if !present || s == "null" {
		return 0, false, nil
	}
	if jsonInteger(s) {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, true, nil
		}
	}
	var v *int64
	if err := decodeParam(name, s, &v); err != nil {
		return 0, false, err
	}
	if v == nil {
		return 0, false, nil
	}
	return *v, true, nil
}

// jsonInteger reports whether s is a JSON number without fraction or
// exponent: -?(0|[1-9][0-9]*).
func jsonInteger(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// stringList returns a JSON list of strings; nil for absent or null
// (zulip-js's callOnEachEvent sends event_types=null: all types).
func (p *params) stringList(name string) ([]string, error) {
	var l []string
	if _, err := p.json(name, &l); err != nil {
		return nil, err
	}
	return l, nil
}

// markUsed marks parameters this endpoint accepts without acting on them.
func (p *params) markUsed(names ...string) {
	for i := range p.list {
		if !p.list[i].used && slices.Contains(names, p.list[i].name) {
			p.list[i].used = true
		}
	}
}

// ignored lists the parameters nothing read, for Zulip's
// "ignored_parameters_unsupported" (unknown parameters are not an error).
func (p *params) ignored() []string {
	var out []string
	for _, pr := range p.list {
		if !pr.used {
			out = append(out, pr.name)
		}
	}
	slices.Sort(out)
	return out
}

// withIgnored adds ignored_parameters_unsupported to a response if any.
func (p *params) withIgnored(fields map[string]any) map[string]any {
	return withIgnored(fields, p.ignored())
}

// withIgnored adds ignored, the parameters nothing read, to a response's
// fields if there are any.
func withIgnored(fields map[string]any, ignored []string) map[string]any {
	if len(ignored) > 0 {
		fields["ignored_parameters_unsupported"] = ignored
	}
	return fields
}

// recipients parses a "to" of direct messages and typing: a JSON list of
// emails or of user ids, or (python's old style) comma-separated emails.
func parseRecipients(v string) (emails []string, ids []int64, err error) {
	t := strings.TrimSpace(v)
	if strings.HasPrefix(t, "[") {
		if json.Unmarshal([]byte(t), &ids) == nil {
			return nil, ids, nil
		}
		if json.Unmarshal([]byte(t), &emails) == nil {
			return emails, nil, nil
		}
		return nil, nil, badRequest("Invalid recipients: %s", t)
	}
	var one int64
	if json.Unmarshal([]byte(t), &one) == nil {
		return nil, []int64{one}, nil
	}
	for _, e := range strings.Split(t, ",") {
		if e = strings.TrimSpace(e); e != "" {
			emails = append(emails, e)
		}
	}
	if len(emails) == 0 {
		return nil, nil, badRequest("Message must have recipients")
	}
	return emails, nil, nil
}
