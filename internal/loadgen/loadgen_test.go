package loadgen

import (
	"context"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
)

// Every mode against an in-process server: every subscriber gets every
// event once, and the report adds up. (No timing is asserted.)
func TestModes(t *testing.T) {
	s := servertest.Start(t, server.Config{})
	const subs, events = 20, 50
	generic := Config{
		SubURL:     "{url}/v1/stream?topics={topic}&access_token={key}",
		PubURL:     "{url}/v1/events",
		PubBody:    `{"topic":"{topic}","data":{"text":"{payload}"}}`,
		PubHeaders: []string{"Authorization: Bearer {key}"},
	}
	tests := []struct {
		mode string
		cfg  Config
	}{
		{mode: ModeSSE},
		{mode: ModeWS},
		{mode: ModePoll},
		{mode: ModeSub},
		{mode: ModeHue},
		{mode: ModePlex},
		{mode: ModeZulip},
		{mode: ModeJet, cfg: Config{PullEvery: 10 * time.Millisecond}},
		{mode: ModeGeneric, cfg: generic},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Mode, cfg.URL, cfg.Key = tc.mode, s.URL(), s.Admin
			cfg.Topic = "bench." + tc.mode
			cfg.Subscribers, cfg.Publishers, cfg.Events = subs, 2, events
			cfg.Duration, cfg.ServerPID, cfg.Cleanup = time.Minute, os.Getpid(), true
			res, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.Published != events || res.Delivered != subs*events || res.Missing != 0 || res.Duplicates != 0 ||
				res.Incomplete != 0 || res.Lost != 0 || len(res.Warnings) != 0 {
				t.Fatalf("result %+v", res)
			}
			if res.Mode != tc.mode || res.LatencyP99ms <= 0 || res.LatencyMaxms < res.LatencyP50ms || res.ServerCPUus < 0 {
				t.Fatalf("implausible measurements: %+v", res)
			}
			// A pull mode counts its batches: each a Get and a Delete (the
			// last Delete of each subscriber may be cut by the run's end).
			if tc.mode == ModeJet && (res.Batches == 0 || res.Requests+subs < 2*res.Batches) {
				t.Fatalf("%d requests, %d batches", res.Requests, res.Batches)
			}
		})
	}
}

// Events that never arrive are counted missing, per subscriber: the
// generic mode publishes to a topic its subscribers do not read.
func TestRunCountsMissing(t *testing.T) {
	s := servertest.Start(t, server.Config{})
	res, err := Run(context.Background(), Config{
		Mode: ModeGeneric, Topic: "bench.read", Subscribers: 3, Publishers: 1, Events: 4, Duration: time.Minute,
		Drain:      200 * time.Millisecond,
		SubURL:     s.URL() + "/v1/stream?topics={topic}&access_token=" + url.QueryEscape(s.Admin),
		PubURL:     s.URL() + "/v1/events",
		PubBody:    `{"topic":"bench.elsewhere","data":"{payload}"}`,
		PubHeaders: []string{"Authorization: Bearer " + s.Admin},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Published != 4 || res.Delivered != 0 || res.Missing != 12 || res.Incomplete != 3 {
		t.Fatalf("result %+v", res)
	}
}

func TestRunRejectedKey(t *testing.T) {
	s := servertest.Start(t, server.Config{})
	for _, mode := range []string{ModeSSE, ModeWS, ModePoll, ModeSub, ModeHue, ModePlex, ModeZulip, ModeJet} {
		_, err := Run(context.Background(), Config{Mode: mode, URL: s.URL(), Key: "wrong", Subscribers: 2, Duration: time.Second})
		if err == nil {
			t.Errorf("%s: a run with a wrong key succeeded", mode)
		}
	}
}

func TestRunBadConfig(t *testing.T) {
	tests := []Config{
		{Mode: "carrier-pigeon", URL: "http://127.0.0.1:1"},
		{Mode: ModeSSE, URL: "https://127.0.0.1:1"},
		{Mode: ModeGeneric},
		{Mode: ModeGeneric, SubURL: "http://127.0.0.1:1/s", PubURL: "http://127.0.0.1:1/p", PubBody: "no placeholder"},
		{Mode: ModeGeneric, SubURL: "http://127.0.0.1:1/s", PubURL: "http://127.0.0.1:1/p", PubBody: "{payload}", SubHeaders: []string{"no colon"}},
	}
	for _, cfg := range tests {
		if _, err := Run(context.Background(), cfg); err == nil {
			t.Errorf("Run(%+v) succeeded", cfg)
		}
	}
}
