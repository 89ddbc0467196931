package plex

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/herald-io/herald/internal/dialect/native"
)

type mediaContainer struct {
	XMLName           xml.Name `xml:"MediaContainer"`
	MachineIdentifier string   `xml:"machineIdentifier,attr"`
	Version           string   `xml:"version,attr"`
	FriendlyName      string   `xml:"friendlyName,attr"`
	Claimed           string   `xml:"claimed,attr"`
	MyPlex            string   `xml:"myPlex,attr"`
}

func TestIdentity(t *testing.T) {
	e := newEnv(t, Config{FriendlyName: "Living <Room>"})
	id := e.api.cfg.MachineIdentifier
	if len(id) != 40 {
		t.Fatalf("machine identifier %q", id)
	}
	tests := []struct {
		name, path string
		headers    []string
		status     int
		ctype      string
		check      func(t *testing.T, body []byte)
	}{
		{name: "root XML", path: "/", headers: []string{"X-Plex-Token: " + e.token}, status: 200, ctype: "text/xml;charset=utf-8",
			check: func(t *testing.T, b []byte) {
				var mc mediaContainer
				if err := xml.Unmarshal(b, &mc); err != nil {
					t.Fatalf("%s: %v", b, err)
				}
				if mc.MachineIdentifier != id || mc.Version != DefaultVersion || mc.FriendlyName != "Living <Room>" || mc.MyPlex != "0" {
					t.Fatalf("%+v", mc)
				}
			}},
		{name: "root query token", path: "/?X-Plex-Token=" + e.token, status: 200},
		{name: "root JSON", path: "/", headers: []string{"X-Plex-Token: " + e.token, "Accept: application/json"}, status: 200, ctype: "application/json",
			check: func(t *testing.T, b []byte) {
				var v struct {
					MediaContainer struct {
						MachineIdentifier string `json:"machineIdentifier"`
						MyPlex            bool   `json:"myPlex"`
						Size              int    `json:"size"`
					}
				}
				if err := json.Unmarshal(b, &v); err != nil || v.MediaContainer.MachineIdentifier != id {
					t.Fatalf("%s: %v", b, err)
				}
			}},
		{name: "root without token", path: "/", status: 401},
		{name: "identity without token", path: "/identity", status: 200, ctype: "text/xml;charset=utf-8",
			check: func(t *testing.T, b []byte) {
				var mc mediaContainer
				if err := xml.Unmarshal(b, &mc); err != nil || mc.MachineIdentifier != id || mc.Claimed != "0" {
					t.Fatalf("%s: %+v %v", b, mc, err)
				}
			}},
		{name: "other paths are not ours", path: "/library/sections", headers: []string{"X-Plex-Token: " + e.token}, status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.get(tt.path, tt.headers...)
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			if tt.ctype != "" && resp.Header.Get("Content-Type") != tt.ctype {
				t.Fatalf("Content-Type %q", resp.Header.Get("Content-Type"))
			}
			if tt.check != nil {
				tt.check(t, b)
			}
		})
	}
}

// The identity is kept in the engine: a second API on the same core (a
// restart, or another node) answers with the same one.
func TestIdentityIsShared(t *testing.T) {
	e := newEnv(t, Config{})
	again, err := New(e.core.Core, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if again.cfg.MachineIdentifier != e.api.cfg.MachineIdentifier {
		t.Fatalf("%s != %s", again.cfg.MachineIdentifier, e.api.cfg.MachineIdentifier)
	}
	if fixed, _ := New(e.core.Core, Config{MachineIdentifier: "abc"}); fixed.cfg.MachineIdentifier != "abc" {
		t.Fatal("configured identifier ignored")
	}
}

// The routes coexist with the native API's on one mux (a conflict panics),
// and /v1/plex/… wins over native's /v1/ catch-all.
func TestMountsBesideNative(t *testing.T) {
	e := newEnv(t, Config{})
	mux := http.NewServeMux()
	native.New(e.core.Core).Mount(mux)
	e.api.Mount(mux)
	req := httptest.NewRequest("POST", "/v1/plex/tokens", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+e.admin)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if rec.Code != 201 {
		t.Fatalf("POST /v1/plex/tokens beside native: %d %s", rec.Code, rec.Body)
	}
}
