package hue_test

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
)

// TestServedAsBridge runs a whole herald server and looks at it the way
// clients find and check a bridge (aiohue discovery.py): the public config
// over plain HTTP and over HTTPS — on the HTTPS port too, which answers
// both — and 403 from /clip/v2/resource without a key over HTTPS (what
// marks a v2 bridge). Then it pairs, changes the bridge, restarts the
// server, and finds the same bridge: the state is in the engine.
func TestServedAsBridge(t *testing.T) {
	s := servertest.Start(t, server.Config{HTTPSAddr: "127.0.0.1:0"})
	// Hue clients accept the bridge's self-signed certificate (aiohue: ssl=False).
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	// call sends a request; headers are "Name: value" strings.
	call := func(method, url, body string, headers ...string) (int, http.Header, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range headers {
			k, v, _ := strings.Cut(h, ":")
			req.Header.Set(k, strings.TrimSpace(v))
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header, b
	}
	admin := "Authorization: Bearer " + s.Admin

	var bridgeID string
	checkConfig := func() {
		t.Helper()
		plainOnTLSPort := "http://" + strings.TrimPrefix(s.Srv.TLSURL, "https://")
		for _, base := range []string{s.URL(), s.Srv.TLSURL, plainOnTLSPort} {
			for _, path := range []string{"/api/config", "/api/nouser/config"} {
				status, h, body := call("GET", base+path, "")
				var cfg map[string]any
				if status != 200 || h.Get("Content-Type") != "application/json" || json.Unmarshal(body, &cfg) != nil {
					t.Fatalf("%s%s: %d %s", base, path, status, body)
				}
				id, _ := cfg["bridgeid"].(string)
				if !regexp.MustCompile(`^001788FFFE[0-9A-F]{6}$`).MatchString(id) || cfg["modelid"] != "BSB002" ||
					cfg["factorynew"] != false || (bridgeID != "" && id != bridgeID) {
					t.Fatalf("%s%s: %s (bridge %s)", base, path, body, bridgeID)
				}
				bridgeID = id
			}
		}
		status, _, body := call("GET", s.Srv.TLSURL+"/clip/v2/resource", "")
		if status != 403 || string(body) != `{"errors":[{"description":"unauthorized user"}],"data":[]}`+"\n" {
			t.Fatalf("v2 check without a key: %d %s", status, body)
		}
	}
	checkConfig()

	// Pair over HTTPS, add a lamp, switch it on.
	if status, _, body := call("POST", s.URL()+"/v1/hue/link", "", admin); status != 200 {
		t.Fatalf("link: %d %s", status, body)
	}
	_, _, body := call("POST", s.Srv.TLSURL+"/api", `{"devicetype":"discovery#test"}`)
	var pair []struct{ Success struct{ Username string } }
	if json.Unmarshal(body, &pair) != nil || len(pair) != 1 || pair[0].Success.Username == "" {
		t.Fatalf("pair: %s", body)
	}
	app := "hue-application-key: " + pair[0].Success.Username
	_, _, body = call("POST", s.URL()+"/v1/hue/devices", `{"product":"color_lamp","name":"Desk"}`, admin)
	var dev struct{ Data []struct{ RID, RType string } }
	json.Unmarshal(body, &dev)
	var light string
	for _, r := range dev.Data {
		if r.RType == "light" {
			light = r.RID
		}
	}
	if status, _, body := call("PUT", s.Srv.TLSURL+"/clip/v2/resource/light/"+light, `{"on":{"on":true},"dimming":{"brightness":35}}`, app); status != 200 {
		t.Fatalf("PUT light: %d %s", status, body)
	}
	status, _, before := call("GET", s.Srv.TLSURL+"/clip/v2/resource", "", app)
	if status != 200 || !bytes.Contains(before, []byte(`"brightness":35`)) {
		t.Fatalf("resources: %d %s", status, before)
	}

	tr.CloseIdleConnections()
	s.Restart()
	checkConfig() // the same bridge id
	status, _, after := call("GET", s.Srv.TLSURL+"/clip/v2/resource", "", app)
	if status != 200 || !bytes.Equal(before, after) {
		t.Fatalf("after a restart: %d\n%s\nbefore:\n%s", status, after, before)
	}
}
