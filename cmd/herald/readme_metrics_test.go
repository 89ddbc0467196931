package main

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/herald-io/herald/internal/metrics"
)

// TestREADMEListsEveryMetric: each of herald's own Prometheus metrics is
// named in the README, as `name` or `name{labels}`.
func TestREADMEListsEveryMetric(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	names := map[string]bool{}
	// Described rather than gathered: a vector with no series yet is not.
	ch := make(chan *prometheus.Desc, 256)
	go func() {
		m.Registry.Describe(ch)
		close(ch)
	}()
	descName := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range ch {
		if n := descName.FindStringSubmatch(d.String()); n != nil {
			names[n[1]] = true
		}
	}
	checked := 0
	for name := range names {
		if !strings.HasPrefix(name, "herald_") {
			continue // the Go and process collectors'
		}
		checked++
		if !bytes.Contains(b, []byte("`"+name+"`")) && !bytes.Contains(b, []byte("`"+name+"{")) {
			t.Errorf("README.md does not name the metric %s", name)
		}
	}
	if checked < 20 {
		t.Fatalf("checked %d of herald's metrics, want them all", checked)
	}
}
