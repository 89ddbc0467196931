package dialecttest

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"go.uber.org/goleak"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/eventlog"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCoreWorks(t *testing.T) {
	c := NewCore(t, Options{})
	if _, err := c.Append(context.Background(), "test", []eventlog.Draft{{Topic: "a.b", Type: "t", Data: json.RawMessage("1")}}); err != nil {
		t.Fatal(err)
	}
	tok := c.Key(t, auth.Spec{Name: "k", Dialect: "plex"})
	if k, err := c.Auth.Authenticate(context.Background(), tok); err != nil || k.Dialect != "plex" {
		t.Fatalf("key: %+v %v", k, err)
	}
	srv := c.Serve(t, func(m *http.ServeMux) {
		m.HandleFunc("GET /x", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	})
	resp, err := http.Get(srv.URL + "/x")
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("serve: %v %v", resp, err)
	}
	resp.Body.Close()
}
