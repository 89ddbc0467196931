package main

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeConfig writes content to a herald.yaml in a temporary directory.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "herald.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const sampleConfig = `# a server's configuration
data: /var/lib/herald
http: 127.0.0.1:1111
retention-age: 24h
log-level: debug
rate-limit: 50
access-log: false
nats: [nats://a:4222, "nats://b:4222"]
tls-hosts:
  - herald.example.com
`

// A value comes from the command line, else from its HERALD_* variable,
// else from the file, else it is the default; each setting says which.
func TestConfigPrecedence(t *testing.T) {
	path := writeConfig(t, sampleConfig)
	t.Setenv("HERALD_HTTP", "127.0.0.1:2222")
	t.Setenv("HERALD_RATE_LIMIT", "7")
	var cli CLI
	kctx, err := newParser(t, &cli).Parse([]string{"--config", path, "serve", "--log-level", "warn"})
	if err != nil {
		t.Fatal(err)
	}
	s := cli.Serve
	if cli.Data != "/var/lib/herald" || s.HTTP != "127.0.0.1:2222" || s.RetentionAge != 24*time.Hour ||
		s.LogLevel != slog.LevelWarn || s.RateLimit != 7 || s.AccessLog || s.Fsync != "default" ||
		!slices.Equal(s.NATS, []string{"nats://a:4222", "nats://b:4222"}) || !slices.Equal(s.TLSHosts, []string{"herald.example.com"}) {
		t.Fatalf("parsed %+v (data %q)", s, cli.Data)
	}
	want := map[string]string{"data": "file", "http": "env HERALD_HTTP", "retention-age": "file", "log-level": "flag",
		"rate-limit": "env HERALD_RATE_LIMIT", "access-log": "file", "fsync": "default", "nats": "file"}
	got := map[string]string{}
	for _, st := range settings(kctx) {
		got[st.Name] = st.Source
	}
	for name, src := range want {
		if got[name] != src {
			t.Errorf("%s comes from %q, want %q", name, got[name], src)
		}
	}
	if _, ok := got["config"]; ok {
		t.Error("the settings list --config itself")
	}
}

// HERALD_CONFIG names the file as --config does; --config wins over it.
func TestConfigFromTheEnvironment(t *testing.T) {
	t.Setenv("HERALD_CONFIG", writeConfig(t, "retention-age: 48h\n"))
	var cli CLI
	if _, err := newParser(t, &cli).Parse([]string{"serve"}); err != nil {
		t.Fatal(err)
	}
	if cli.Serve.RetentionAge != 48*time.Hour {
		t.Fatalf("retention-age %v, want 48h from HERALD_CONFIG's file", cli.Serve.RetentionAge)
	}
	other := writeConfig(t, "retention-age: 72h\n")
	cli = CLI{}
	if _, err := newParser(t, &cli).Parse([]string{"--config", other}); err != nil {
		t.Fatal(err)
	}
	if cli.Serve.RetentionAge != 72*time.Hour {
		t.Fatalf("retention-age %v, want 72h from --config's file", cli.Serve.RetentionAge)
	}
}

// A file that herald cannot take is an error naming the file, the line
// and what is wrong, with the flag a mistyped key most resembles; nothing
// runs.
func TestConfigErrors(t *testing.T) {
	tests := []struct{ content, want string }{
		{"retention-ag: 24h\n", `herald.yaml:1: unknown key "retention-ag"; did you mean "retention-age"?`},
		{"http: :1\ntlscert: a.pem\n", `herald.yaml:2: unknown key "tlscert"; did you mean "tls-cert"?`},
		{"banana: 1\n", `unknown key "banana"; the keys are the names of herald serve's flags`},
		{"topic: app.x\n", `unknown key "topic"`}, // publish's flag, not serve's
		{"config: other.yaml\n", `unknown key "config"`},
		{"http: :1\nhttp: :2\n", `herald.yaml:2: key "http" appears twice`},
		{"tls-hosts: {a: b}\n", `herald.yaml:1: tls-hosts: want a value or a list, not a mapping`},
		{"http:\n", `herald.yaml:1: http: no value`},
		{"- http\n", `herald.yaml:1: want a mapping of flag names to values`},
		{"http: [unclosed\n", `herald.yaml: yaml:`},
		{"http: :1\nretention-age: soon\n", `--retention-age: configuration file `},
		{"http: :1\nretention-age: soon\n", `herald.yaml:2: expected duration but got "soon"`},
		{"fsync: sometimes\n", `--fsync`},
	}
	for _, tt := range tests {
		t.Run(tt.content, func(t *testing.T) {
			var cli CLI
			_, err := newParser(t, &cli).Parse([]string{"--config", writeConfig(t, tt.content), "serve"})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	var cli CLI
	_, err := newParser(t, &cli).Parse([]string{"--config", filepath.Join(t.TempDir(), "missing.yaml")})
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a missing file: %v, want not-exist", err)
	}
}

// The client commands take the global flags from the file, and only those.
func TestConfigForClientCommands(t *testing.T) {
	path := writeConfig(t, "url: http://herald.example:8080\nrate-limit: 1\n")
	var cli CLI
	if _, err := newParser(t, &cli).Parse([]string{"--config", path, "keys", "create", "--name", "n"}); err != nil {
		t.Fatal(err)
	}
	if cli.URL != "http://herald.example:8080" || cli.Keys.Create.Rate != 0 {
		t.Fatalf("url %q, keys create --rate %v; want the file's url and no rate", cli.URL, cli.Keys.Create.Rate)
	}
}

// herald config print shows the effective configuration as a file herald
// could read, each value's source in its comment, secrets redacted.
func TestConfigPrint(t *testing.T) {
	path := writeConfig(t, "http: 127.0.0.1:1111\nnats: [\"nats://herald:hunter2@n1:4222\"]\n")
	out, errOut, code := heraldEnv(t, []string{"HERALD_KEY=hk_0123456789abcdef_SecretPartSecretPartSecretPart00"},
		"--config", path, "config", "print", "--retention-age", "2h")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"# file: " + path,
		"http: 127.0.0.1:1111 # file",
		"retention-age: 2h # flag",
		"fsync: default # default",
		"key: <redacted> # env HERALD_KEY",
		"nats: ['nats://herald:<redacted>@n1:4222'] # file",
		"log-level: info # default",
		"rate-limit: 1000 # default",
		`tls-cert: "" # default`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("config print lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hunter2") || strings.Contains(out, "SecretPart") {
		t.Fatalf("config print shows a secret:\n%s", out)
	}
	// What it prints is a configuration file herald reads, to the same values.
	reprint, errOut, code := herald(t, "--config", writeConfig(t, out), "config", "print")
	if code != 0 {
		t.Fatalf("reading config print's output: exit %d: %s", code, errOut)
	}
	if !strings.Contains(reprint, "retention-age: 2h # file") || !strings.Contains(reprint, `tls-cert: "" # default`) {
		t.Fatalf("config print's own output read back:\n%s", reprint)
	}
}

// FuzzParseConfig: any content is taken or refused with ErrConfig, never
// a panic, and what is taken holds only known keys.
func FuzzParseConfig(f *testing.F) {
	for _, seed := range []string{sampleConfig, "", "~", "- a", "a: &x 1\nb: *x", "http: [a, [b]]", "? [a]\n: b", "{"} {
		f.Add([]byte(seed))
	}
	names := []string{"data", "http", "retention-age", "log-level", "rate-limit", "access-log", "nats", "tls-hosts", "a", "b"}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseConfig("f.yaml", b, names)
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("error %v does not wrap ErrConfig", err)
			}
			return
		}
		for k, v := range c.values {
			if !slices.Contains(names, k) {
				t.Fatalf("unknown key %q taken", k)
			}
			switch v.(type) {
			case string, []any:
			default:
				t.Fatalf("%s: value of type %T", k, v)
			}
		}
	})
}
