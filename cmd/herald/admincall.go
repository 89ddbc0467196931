package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/herald-io/herald/client"
)

// adminKey returns --key (HERALD_KEY), or else the admin key the server
// wrote to <data>/admin.key, which is what a local operator wants.
func adminKey(g *Globals) (string, error) {
	if g.Key != "" {
		return g.Key, nil
	}
	path := filepath.Join(g.Data, "admin.key")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("no key: pass --key or set HERALD_KEY (there is no admin key at %s)", path)
	}
	if err != nil {
		return "", fmt.Errorf("read admin key: %w", err)
	}
	key := strings.TrimSpace(string(b))
	if key == "" {
		return "", fmt.Errorf("admin key file %s is empty", path)
	}
	return key, nil
}

// adminCall sends body as JSON to an admin endpoint of a dialect
// (/v1/<dialect>/…) and decodes the JSON answer into out (if not nil).
// There is no client timeout: simulations answer when they have run, and
// ctx (Ctrl-C) bounds the call.
func adminCall(ctx context.Context, g *Globals, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := adminRequest(ctx, g, method, path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc, err := httpClient(g)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return answerError(resp, b)
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("decode answer: %w", err)
		}
	}
	return nil
}

// adminRequest is a request to path on the server --url names, with the
// admin key (adminKey).
func adminRequest(ctx context.Context, g *Globals, method, path string, body io.Reader) (*http.Request, error) {
	base, key, err := serverAndKey(g)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("User-Agent", userAgent())
	return req, nil
}

// answerError reads an error answer in whichever shape the endpoint uses:
// native {"error":{…}}, Hue {"errors":[…]} or Jetstream {"Message",…}, as
// the client's *APIError, so that every command's refusals read alike.
func answerError(resp *http.Response, b []byte) error {
	var e struct {
		Error      struct{ Code, Message string }
		Errors     []struct{ Description string }
		Message    string              `json:"Message"`
		ModelState map[string][]string `json:"ModelState"`
	}
	ae := &client.APIError{Status: resp.StatusCode}
	if json.Unmarshal(b, &e) == nil {
		switch {
		case e.Error.Message != "":
			ae.Code, ae.Message = e.Error.Code, e.Error.Message
		case len(e.Errors) > 0:
			ae.Message = e.Errors[0].Description
		case e.Message != "":
			ae.Message = e.Message
			for field, problems := range e.ModelState {
				ae.Message += " " + field + ": " + strings.Join(problems, "; ")
			}
		}
	}
	if ae.Message == "" {
		ae.Message = string(bytes.TrimSpace(b[:min(len(b), 200)]))
	}
	return ae
}

// baseURL is --url checked: a URL without a scheme ("localhost:8080")
// would otherwise fail as an unsupported protocol "localhost".
func baseURL(g *Globals) (string, error) {
	u, err := url.Parse(g.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("--url %q has no scheme; did you mean %q?", g.URL, "http://"+strings.TrimPrefix(g.URL, "//"))
	}
	return strings.TrimRight(g.URL, "/"), nil
}
