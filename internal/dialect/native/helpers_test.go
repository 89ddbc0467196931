package native_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/server"
)

type testServer struct {
	*server.Server
	t     testing.TB
	admin string
}

func start(t testing.TB, cfg server.Config) *testServer {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = "127.0.0.1:0"
	}
	srv, err := server.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return &testServer{Server: srv, t: t, admin: srv.AdminKey()}
}

// do sends a request and decodes a JSON answer into out (if not nil).
func (s *testServer) do(method, path, token, body string, out any) *http.Response {
	s.t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("%s %s: %d %q: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp
}

// metrics returns the Prometheus exposition text.
func (s *testServer) metrics() string {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+s.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// createKey makes a key with the given scopes and returns its token.
func (s *testServer) createKey(spec string) string {
	s.t.Helper()
	var out struct{ Token string }
	if r := s.do("POST", "/v1/keys", s.admin, spec, &out); r.StatusCode != 201 {
		s.t.Fatalf("create key: %d", r.StatusCode)
	}
	return out.Token
}

type event struct {
	Seq   uint64          `json:"seq"`
	ID    string          `json:"id"`
	Time  time.Time       `json:"time"`
	Topic string          `json:"topic"`
	Type  string          `json:"type"`
	Data  json.RawMessage `json:"data"`
}

type apiError struct {
	Error struct {
		Code     string `json:"code"`
		Message  string `json:"message"`
		Earliest uint64 `json:"earliest"`
	} `json:"error"`
}

// sseFrame is one parsed Server-Sent Event.
type sseFrame struct {
	id, event, data string
}

// readSSE parses frames from r into a channel until r ends.
func readSSE(r io.Reader) <-chan sseFrame {
	ch := make(chan sseFrame, 1024)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var f sseFrame
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if f.data != "" || f.event != "" {
					ch <- f
				}
				f = sseFrame{}
			case strings.HasPrefix(line, "id: "):
				f.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				f.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				f.data += line[6:]
			}
		}
	}()
	return ch
}
