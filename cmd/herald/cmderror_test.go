package main

import (
	"net"
	"strings"
	"testing"

	"github.com/herald-io/herald/internal/server"
)

// Every failed command prints one line, herald: <command>: <what>, the
// server's refusals ending in (<status> <code>); a server that is not there
// and a URL without a scheme get a hint.
func TestErrorLines(t *testing.T) {
	ts := startServer(t, server.Config{})
	data := ts.Cfg.DataDir
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close()

	tests := []struct {
		name         string
		args         []string
		prefix, want string // the line starts with prefix and contains want
	}{
		{"refused by the server", []string{"--url", ts.url(), "--data", data, "publish", "--topic", "app.x", "-d", `{}`, "--key", "0123456789abcdef.nope"},
			"herald: publish: ", "(401 unauthorized)"},
		{"bad topic", []string{"--url", ts.url(), "--data", data, "publish", "--topic", "hue..x"},
			"herald: publish: ", "(400 bad_request)"},
		{"no such key", []string{"--url", ts.url(), "--data", data, "keys", "revoke", "0123456789abcdef"},
			"herald: keys revoke: key 0123456789abcdef: ", "(404 not_found)"},
		{"an admin endpoint", []string{"--url", ts.url(), "--data", data, "hue", "press", "Nowhere"},
			"herald: hue press: ", "(404"},
		{"server down", []string{"--url", down, "--data", data, "publish", "--topic", "app.x"},
			"herald: publish: ", "connection refused; is herald running at " + down + "?"},
		{"server down, admin endpoint", []string{"--url", down, "--data", data, "hue", "link"},
			"herald: hue link: ", "connection refused; is herald running at " + down + "?"},
		{"a refused connector", []string{"--url", ts.url(), "--data", data, "connectors", "add", "x", "--kind", "telegraph", "--upstream-url", ts.url()},
			"herald: connectors add: bad request: kind: ", "(400 bad_request)"},
		{"no such connector", []string{"--url", ts.url(), "--data", data, "connectors", "remove", "nosuch"},
			"herald: connectors remove: nosuch: ", "(404 not_found)"},
		{"faults, server down", []string{"--url", down, "--data", data, "faults", "list"},
			"herald: faults list: ", "is herald running at " + down + "?"},
		{"routes, refused", []string{"--url", ts.url(), "--data", data, "routes", "remove", "nope"},
			"herald: routes remove: nope: ", "(404 not_found)"},
		{"webhooks, server down", []string{"--url", down, "--data", data, "webhooks", "list"},
			"herald: webhooks list: ", "is herald running at " + down + "?"},
		{"no scheme", []string{"--url", "localhost:8080", "--data", data, "publish", "--topic", "app.x"},
			"herald: publish: ", `--url "localhost:8080" has no scheme; did you mean "http://localhost:8080"?`},
		{"no scheme, admin endpoint", []string{"--url", "localhost:8080", "--data", data, "hue", "link"},
			"herald: hue link: ", `--url "localhost:8080" has no scheme; did you mean "http://localhost:8080"?`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := herald(t, tt.args...)
			line := strings.TrimSuffix(stderr, "\n")
			command := strings.TrimPrefix(tt.prefix, "herald: ")
			if code != 1 || strings.Contains(line, "\n") || strings.Count(line, "herald:") != 1 ||
				strings.Count(line, command[:strings.Index(command, ":")+1]) != 1 ||
				!strings.HasPrefix(line, tt.prefix) || !strings.Contains(line, tt.want) {
				t.Errorf("exit %d, stderr %q; want 1 and one line starting %q containing %q", code, stderr, tt.prefix, tt.want)
			}
		})
	}
}
