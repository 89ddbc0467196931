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
	"strings"
)

// Bounds on request parameters.
const (
	maxParams     = 100 // distinct parameters in one request
	maxParamBytes = 64 << 10
)

// params are a request's parameters as Zulip reads them: the query string
// merged with a form-urlencoded or multipart body (a body value wins).
// Zulip's non-string values are JSON text ("true", "-1", `["message"]`).
// python-zulip-api sends form bodies, also on DELETE; zulip-js sends
// multipart bodies on POST and the query string on GET and DELETE.
type params struct {
	vals map[string]string
	used map[string]bool
}

// readParams reads r's parameters; the body must already be bounded.
func readParams(r *http.Request) (*params, error) {
	var body []byte
	if r.Body != nil {
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
	p := &params{vals: map[string]string{}, used: map[string]bool{}}
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, badRequest("Malformed query string")
	}
	if err := p.add(q); err != nil {
		return nil, err
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
		f, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, badRequest("Malformed form body")
		}
		return p, p.add(f)
	case "multipart/form-data":
		return p, p.addMultipart(body, mp["boundary"])
	default:
		return nil, badRequest("Unsupported content type %q: send form or multipart parameters", mt)
	}
}

func (p *params) add(v url.Values) error {
	for k, vs := range v {
		if err := p.set(k, vs[len(vs)-1]); err != nil { // Django's QueryDict: the last value
			return err
		}
	}
	return nil
}

func (p *params) set(k, v string) error {
	if _, ok := p.vals[k]; !ok && len(p.vals) >= maxParams {
		return badRequest("Too many parameters")
	}
	if len(v) > maxParamBytes {
		return badRequest("Parameter %q is too long", k)
	}
	p.vals[k] = v
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

// str returns a string parameter as sent (strings are not JSON-encoded).
func (p *params) str(name string) (string, bool) {
	v, ok := p.vals[name]
	p.used[name] = true
	return v, ok
}

// json decodes a JSON-valued parameter into out; ok is false when absent.
func (p *params) json(name string, out any) (ok bool, err error) {
	v, ok := p.str(name)
	if !ok {
		return false, nil
	}
	if !json.Valid([]byte(v)) {
		return true, badRequest("Argument \"%s\" is not valid JSON.", name)
	}
	if err := json.Unmarshal([]byte(v), out); err != nil {
		return true, badRequest("%s is not %s", name, describe(out))
	}
	return true, nil
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
	var b *bool
	if _, err := p.json(name, &b); err != nil {
		return false, err
	}
	if b == nil {
		return def, nil
	}
	return *b, nil
}

// integer returns a JSON integer parameter; ok is false when absent or null.
func (p *params) integer(name string) (n int64, ok bool, err error) {
	var v *int64
	if _, err := p.json(name, &v); err != nil {
		return 0, false, err
	}
	if v == nil {
		return 0, false, nil
	}
	return *v, true, nil
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
	for _, n := range names {
		p.used[n] = true
	}
}

// ignored lists the parameters nothing read, for Zulip's
// "ignored_parameters_unsupported" (unknown parameters are not an error).
func (p *params) ignored() []string {
	var out []string
	for k := range p.vals {
		if !p.used[k] {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// withIgnored adds ignored_parameters_unsupported to a response if any.
func (p *params) withIgnored(fields map[string]any) map[string]any {
	if ig := p.ignored(); len(ig) > 0 {
		fields["ignored_parameters_unsupported"] = ig
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
