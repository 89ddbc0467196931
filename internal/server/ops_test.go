package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
)

// Health and readiness are open; the operator endpoints need an admin key.
func TestOperatorEndpoints(t *testing.T) {
	s := servertest.Start(t, server.Config{})
	req, _ := http.NewRequest("POST", s.URL()+"/v1/keys", bytes.NewBufferString(`{"name":"reader","subscribe":["app.>"]}`))
	req.Header.Set("Authorization", "Bearer "+s.Admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var k struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&k)
	resp.Body.Close()
	tests := []struct {
		path, key string
		status    int
	}{
		{"/healthz", "", 200},
		{"/readyz", "", 200},
		{"/metrics", "", 401},
		{"/metrics", k.Token, 403},
		{"/metrics", s.Admin, 200},
		{"/v1/cluster", "", 401},
		{"/v1/cluster", k.Token, 403},
		{"/v1/cluster", s.Admin, 200},
		{"/debug/pprof/", "", 401},
		{"/debug/pprof/", s.Admin, 200},
	}
	for _, tc := range tests {
		req, _ := http.NewRequest("GET", s.URL()+tc.path, nil)
		if tc.key != "" {
			req.Header.Set("Authorization", "Bearer "+tc.key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("GET %s with key %t: %d, want %d", tc.path, tc.key != "", resp.StatusCode, tc.status)
		}
	}
}
