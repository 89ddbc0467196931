package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/herald-io/herald/internal/loadgen"
)

// The bench flags reach the load tool's configuration.
func TestBenchFlags(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr bool
		check   func(loadgen.Config) bool
	}{
		{args: []string{"bench"},
			check: func(c loadgen.Config) bool {
				return c.Mode == "sse" && c.Subscribers == 1000 && c.Publishers == 4 && c.Rate == 20 && c.Cleanup && !c.Floor
			}},
		{args: []string{"bench", "--mode", "zulip", "-n", "20", "--events", "50", "--spawn", "--floor", "--floor-duration", "1s"},
			check: func(c loadgen.Config) bool {
				return c.Mode == "zulip" && c.Subscribers == 20 && c.Events == 50 && !c.Cleanup && c.Floor && c.FloorDuration.Seconds() == 1
			}},
		{args: []string{"bench", "--mode", "generic", "--sub-url", "http://h/sub/{topic}", "--pub-url", "http://h/pub/{topic}",
			"--pub-method", "PUT", "--pub-body", `{"a":"{payload}","b":1}`, "--pub-header", "X-Api-Key: a,b", "--pub-header", "X-Other: c",
			"--sub-header", "Accept-Language: en, de"},
			check: func(c loadgen.Config) bool {
				return c.SubURL == "http://h/sub/{topic}" && c.PubMethod == "PUT" && c.PubBody == `{"a":"{payload}","b":1}` &&
					len(c.PubHeaders) == 2 && c.PubHeaders[0] == "X-Api-Key: a,b" && len(c.SubHeaders) == 1
			}},
		{args: []string{"bench", "--mode", "jetstream", "--pull-every", "250ms"},
			check: func(c loadgen.Config) bool { return c.Mode == "jetstream" && c.PullEvery.Milliseconds() == 250 }},
		{args: []string{"bench", "--mode", "sub"},
			check: func(c loadgen.Config) bool { return c.Mode == "sub" && c.PullEvery.Seconds() == 1 }},
		{args: []string{"bench", "--mode", "smoke-signals"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
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
			if cfg := cli.Bench.config("http://h:1", "k", 0); !tt.check(cfg) {
				t.Fatalf("%q gave %+v", tt.args, cfg)
			}
		})
	}
}

// The report is a table, then the result as one JSON line.
func TestPrintBench(t *testing.T) {
	res := loadgen.Result{Mode: "ws", Subscribers: 10, Published: 5, Delivered: 50, ServerCPUus: 12, FloorCPUus: 8, ServerPerFloor: 1.5,
		Requests: 12, Batches: 5, Warnings: []string{"1 subscriptions ended early"}}
	var b bytes.Buffer
	printBench(&b, res, true)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	for _, want := range []string{"mode", "server", "floor (bare write)", "1.50×", "12 requests, 5 batches", "10.0 events per batch", "warning"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
	var got loadgen.Result
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil || got.Mode != "ws" || got.Delivered != 50 {
		t.Fatalf("last line %q: %v", lines[len(lines)-1], err)
	}
}
