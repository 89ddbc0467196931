package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/alecthomas/kong"
	"go.uber.org/goleak"
)

// runMainEnv makes the test binary run herald's main instead of the tests,
// for tests of what the command itself prints and how it exits.
const runMainEnv = "HERALD_TEST_RUN_MAIN"

// TestMain fails the package's tests if a goroutine outlives them.
func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// newParser is the command line's parser for grammar (CLI, or a part of it
// under test), as main builds it, that fails the test instead of exiting.
func newParser(t *testing.T, grammar any) *kong.Kong {
	t.Helper()
	p, err := kong.New(grammar, append(cliOptions(), kong.Exit(func(int) { t.Fatal("kong tried to exit") }))...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// herald runs this package's main with args, as the herald command would
// run, and returns what it printed and its exit code.
func herald(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return heraldEnv(t, nil, args...)
}

// heraldEnv is herald with more environment variables ("NAME=value").
func heraldEnv(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), runMainEnv+"=1"), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// TestParse checks that the client commands' flags reach their structs.
func TestParse(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr bool
		check   func(*CLI) bool
	}{
		{args: []string{"publish", "--topic", "app.x", "--type", "t", "-d", `{"a":1}`, "--id", "i"},
			check: func(c *CLI) bool {
				p := c.Publish
				return p.Topic == "app.x" && p.Type == "t" && p.Payload == `{"a":1}` && p.ID == "i" && p.Batch == 500 && p.Concurrency == 4
			}},
		{args: []string{"publish", "-f", "-", "--concurrency", "1", "--progress", "never"},
			check: func(c *CLI) bool {
				return c.Publish.File == "-" && c.Publish.Concurrency == 1 && c.Publish.Progress == "never"
			}},
		{args: []string{"publish", "--progress", "sometimes"}, wantErr: true},
		{args: []string{"tail"},
			check: func(c *CLI) bool { return c.Tail.After == nil && !c.Tail.FromStart && c.Tail.Format == "pretty" }},
		{args: []string{"tail", "--topics", "app.>,hue.*", "--after", "42", "--format", "json"},
			check: func(c *CLI) bool {
				t := c.Tail
				return len(t.Topics) == 2 && t.Topics[1] == "hue.*" && t.After != nil && *t.After == 42 && t.Format == "json"
			}},
		{args: []string{"tail", "--after", "0"},
			check: func(c *CLI) bool { return c.Tail.After != nil && *c.Tail.After == 0 }},
		{args: []string{"tail", "--after", "1", "--from-start"}, wantErr: true},
		{args: []string{"keys", "create", "--name", "n", "--publish", "app.>,hue.>", "--subscribe", "app.>", "--admin", "--rate", "2.5"},
			check: func(c *CLI) bool {
				k := c.Keys.Create
				return k.Name == "n" && len(k.Publish) == 2 && len(k.Subscribe) == 1 && k.Admin && k.Rate == 2.5
			}},
		{args: []string{"keys", "create"}, wantErr: true},
		{args: []string{"keys", "revoke", "abc"}, check: func(c *CLI) bool { return c.Keys.Revoke.ID == "abc" }},
		{args: []string{"faults", "add", "cut_stream", "--dialect", "native", "--after-events", "3"},
			check: func(c *CLI) bool {
				f := c.Faults.Add
				return f.Action == "cut_stream" && f.Dialect == "native" && f.AfterEvents == 3 && f.Probability == 1
			}},
		{args: []string{"--key", "k", "faults", "add", "status", "--key-id", "abc", "--status", "429", "--retry-after", "5s", "--ttl", "10m"},
			check: func(c *CLI) bool {
				f := c.Faults.Add
				return c.Key == "k" && f.KeyID == "abc" && f.Status == 429 && f.RetryAfter == 5*time.Second && f.TTL == 10*time.Minute
			}},
		{args: []string{"faults", "add"}, wantErr: true},
		{args: []string{"webhooks", "add", "https://example.org/hook", "--topic", "app.>,hue.>", "--header", "X-A=1", "--after", "5", "--ordered"},
			check: func(c *CLI) bool {
				w := c.Webhooks.Add
				return w.URL == "https://example.org/hook" && len(w.Topics) == 2 && w.Headers["X-A"] == "1" && *w.After == 5 && w.Ordered
			}},
		{args: []string{"webhooks", "add", "https://example.org/hook"}, wantErr: true},
		{args: []string{"webhooks", "replay", "wh_x"}, wantErr: true},
		{args: []string{"faults", "clear"}, check: func(c *CLI) bool { return len(c.Faults.Clear.IDs) == 0 }},
		{args: []string{"faults", "clear", "a", "b"}, check: func(c *CLI) bool { return len(c.Faults.Clear.IDs) == 2 }},
		{args: []string{"dev", "cluster", "--port", "9080", "--nats-port", "14222", "--nats-cluster-port", "16222"},
			check: func(c *CLI) bool {
				d := c.Dev.Cluster
				return d.Port == 9080 && d.NATSPort == 14222 && d.NATSClusterPort == 16222 && d.Servers == 3 && d.Nodes == 2
			}},
		{args: []string{"--url", "http://h:1", "--key", "k", "keys", "list"},
			check: func(c *CLI) bool { return c.URL == "http://h:1" && c.Key == "k" }},
	}
	for _, tt := range tests {
		t.Run(tt.args[0]+" "+tt.args[len(tt.args)-1], func(t *testing.T) {
			var cli CLI
			_, err := newParser(t, &cli).Parse(tt.args)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("%q parsed; want an error", tt.args)
				}
				return
			}
			if err != nil {
				t.Fatalf("%q: %v", tt.args, err)
			}
			if !tt.check(&cli) {
				t.Fatalf("%q parsed into %+v", tt.args, cli)
			}
		})
	}
}
