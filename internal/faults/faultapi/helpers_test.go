package faultapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/dialect/hue"
	"github.com/herald-io/herald/internal/dialect/native"
	"github.com/herald-io/herald/internal/faults/faultapi"
)

// server is a core serving the native API and /v1/faults (and whatever
// mount adds), with an admin key and an application key.
type server struct {
	c          *dialecttest.Core
	url        string
	admin, app string
	appID      string
}

func newServer(t *testing.T, mount func(*http.ServeMux, *dialecttest.Core)) *server {
	t.Helper()
	c := dialecttest.NewCore(t, dialecttest.Options{})
	s := &server{c: c, admin: c.Key(t, auth.Spec{Name: "admin", Admin: true})}
	k, tok, err := c.Auth.Create(context.Background(), auth.Spec{Name: "app", Publish: []string{"app.>"}, Subscribe: []string{"app.>"}})
	if err != nil {
		t.Fatal(err)
	}
	s.app, s.appID = tok, k.ID
	srv := c.Serve(t, func(mux *http.ServeMux) {
		native.New(c.Core).Mount(mux)
		faultapi.Mount(mux, c.Core)
		if mount != nil {
			mount(mux, c)
		}
	})
	s.url = srv.URL
	return s
}

// answer is an HTTP answer with its body, decoded if it is JSON.
type answer struct {
	status int
	header http.Header
	raw    []byte
	json   map[string]any
}

// errCode is the native error body's code.
func (a answer) errCode() string {
	e, _ := a.json["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func (a answer) errMessage() string {
	e, _ := a.json["error"].(map[string]any)
	m, _ := e["message"].(string)
	return m
}

func (s *server) call(t *testing.T, method, path string, header http.Header, body string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = bytes.NewReader([]byte(body))
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header}
	a.raw, _ = io.ReadAll(resp.Body)
	json.Unmarshal(a.raw, &a.json)
	return a
}

func bearer(key string) http.Header { return http.Header{"Authorization": {"Bearer " + key}} }

// addFault posts a rule with the admin key and returns its id.
func (s *server) addFault(t *testing.T, body string) string {
	t.Helper()
	a := s.call(t, "POST", "/v1/faults", bearer(s.admin), body)
	if a.status != 201 {
		t.Fatalf("POST /v1/faults %s: %d %s", body, a.status, a.raw)
	}
	return a.json["id"].(string)
}

func (s *server) clearFaults(t *testing.T) {
	t.Helper()
	if a := s.call(t, "DELETE", "/v1/faults", bearer(s.admin), ""); a.status != 200 {
		t.Fatalf("DELETE /v1/faults: %d %s", a.status, a.raw)
	}
}

func counter(c prometheus.Counter) float64 {
	var m dto.Metric
	c.Write(&m)
	return m.GetCounter().GetValue()
}

// withHue mounts the Hue dialect too.
func withHue(t *testing.T) func(*http.ServeMux, *dialecttest.Core) {
	return func(mux *http.ServeMux, c *dialecttest.Core) {
		h, err := hue.New(c.Core, hue.Config{})
		if err != nil {
			t.Fatal(err)
		}
		h.Mount(mux)
	}
}
