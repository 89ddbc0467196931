package plex_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/connector"
	plexconn "github.com/herald-io/herald/internal/connector/plex"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/dialect/plex"
	"github.com/herald-io/herald/internal/topic"
)

func TestDraftOf(t *testing.T) {
	frame := `{"NotificationContainer":{"type":"activity","size":2,"ActivityNotification":[{"event":"started","uuid":"u1"}, {"event":"ended","uuid":"u1"}]}}`
	d, err := plexconn.DraftOf("pms", []byte(frame))
	if err != nil {
		t.Fatal(err)
	}
	if d.Topic != "plex.activity" || d.Type != "activity" || string(d.Data) != `{"ActivityNotification":[{"event":"started","uuid":"u1"}, {"event":"ended","uuid":"u1"}]}` {
		t.Fatalf("draft %+v (%s)", d, d.Data)
	}
	again, _ := plexconn.DraftOf("pms", []byte(frame))
	other, _ := plexconn.DraftOf("other", []byte(frame))
	if again.ID != d.ID || other.ID == d.ID || !strings.HasPrefix(d.ID, "plex-") {
		t.Fatalf("ids %s %s %s", d.ID, again.ID, other.ID)
	}
	for _, bad := range []string{``, `{}`, `[]`, `{"NotificationContainer":{"size":1,"X":[{}]}}`,
		`{"NotificationContainer":{"type":"a.*","size":1,"X":[{}]}}`,
		`{"NotificationContainer":{"type":"a","size":1}}`,
		`{"NotificationContainer":{"type":"a","size":1,"X":{}}}`,
		`{"NotificationContainer":{"type":"a","size":1,"X":[],"Y":[]}}`} {
		if _, err := plexconn.DraftOf("pms", []byte(bad)); !errors.Is(err, plexconn.ErrNotNotification) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func FuzzDraftOf(f *testing.F) {
	f.Add([]byte(`{"NotificationContainer":{"type":"playing","size":1,"PlaySessionStateNotification":[{"sessionKey":"1"}]}}`))
	f.Add([]byte(`{"NotificationContainer":{"type":"x","X":[1]}}`))
	f.Fuzz(func(t *testing.T, frame []byte) {
		d, err := plexconn.DraftOf("pms", frame)
		if err != nil {
			return
		}
		if topic.Validate(d.Topic) != nil || !strings.HasPrefix(d.Topic, plex.TopicPrefix) || d.ID == "" || len(d.Data) == 0 {
			t.Fatalf("%q: %+v", frame, d)
		}
	})
}

// The proxy the kind sets: the client's herald token is checked, then
// replaced by the connector's on the way to the server (header and query);
// path, query and answer pass unchanged. Removing the connector removes it.
func TestProxy(t *testing.T) {
	var seen *http.Request
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Clone(r.Context())
		w.Header().Set("X-Plex-Protocol", "1.0")
		io.WriteString(w, `<MediaContainer size="1"/>`)
	}))
	defer server.Close()
	c := dialecttest.NewCore(t, dialecttest.Options{})
	api, err := plex.New(c.Core, plex.Config{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	api.Mount(mux)
	front := httptest.NewServer(api.Unmatched(mux))
	defer front.Close()
	token := c.Key(t, auth.Spec{Name: "client", Dialect: plex.Dialect, Subscribe: []string{"plex.>"}})
	k := plexconn.New(api)
	k.Observe([]connector.Spec{{Name: "pms", Kind: "plex", URL: server.URL, Key: "server-token"}})

	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	status := func(path string) int {
		resp, err := client.Get(front.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	resp, err := client.Get(front.URL + "/library/sections/1/all?type=1&X-Plex-Token=" + token)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != `<MediaContainer size="1"/>` || resp.Header.Get("X-Plex-Protocol") != "1.0" {
		t.Fatalf("answer %d %s", resp.StatusCode, body)
	}
	if seen.URL.Path != "/library/sections/1/all" || seen.URL.RawQuery != "type=1" || seen.Header.Get("X-Plex-Token") != "server-token" {
		t.Fatalf("the server saw %s %s %v", seen.URL.Path, seen.URL.RawQuery, seen.Header)
	}
	if st := status("/library/sections?X-Plex-Token=wrong"); st != 401 {
		t.Fatalf("a wrong token: %d", st)
	}
	k.Observe(nil)
	if st := status("/library/sections?X-Plex-Token=" + token); st != 404 {
		t.Fatalf("without a connector: %d", st)
	}
}
