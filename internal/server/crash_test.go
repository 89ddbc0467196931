package server_test

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestCrashLosesNoAcknowledgedEvent builds herald, runs it as a child
// process, publishes from 8 concurrent publishers, kills it with SIGKILL at
// a random moment, restarts it on the same data directory, and checks that
// every event the server acknowledged is there, once, in acknowledgement
// order per publisher. Three cycles with --fsync default; `make crash`
// sets HERALD_CRASH_CYCLES and HERALD_CRASH_FSYNC for long runs.
func TestCrashLosesNoAcknowledgedEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a server process")
	}
	cycles := envInt(t, "HERALD_CRASH_CYCLES", 3)
	fsync := cmp.Or(os.Getenv("HERALD_CRASH_FSYNC"), "default")
	bin := buildHerald(t)
	data := t.TempDir()
	port := freePort(t)
	base := "http://" + port

	type ack struct {
		ID  string `json:"id"`
		Seq uint64 `json:"seq"`
	}
	var mu sync.Mutex
	acked := map[string]uint64{} // id -> seq, every acknowledged event
	const publishers, perCycle, batch = 8, 10000, 10

	serve := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "--data", data, "--http", port, "--https", "", "--log-level", "warn", "--fsync", fsync)
		cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitHealthy(t, base)
		return cmd
	}
	for cycle := range cycles {
		cmd := serve()
		key := strings.TrimSpace(readFile(t, filepath.Join(data, "admin.key")))

		// Kill after a random share of this cycle's events went out.
		killAt := perCycle/4 + rand.IntN(perCycle/2)
		var sent sync.WaitGroup
		var count int
		var countMu sync.Mutex
		killed := make(chan struct{})
		var once sync.Once
		for p := 0; p < publishers; p++ {
			sent.Add(1)
			go func() {
				defer sent.Done()
				client := &http.Client{Timeout: 10 * time.Second}
				for i := 0; ; i++ {
					select {
					case <-killed:
						return
					default:
					}
					var body bytes.Buffer
					body.WriteByte('[')
					for j := 0; j < batch; j++ {
						if j > 0 {
							body.WriteByte(',')
						}
						fmt.Fprintf(&body, `{"topic":"crash.p%d","type":"t","id":"c%d-p%d-%d-%d","data":{"i":%d}}`, p, cycle, p, i, j, i)
					}
					body.WriteByte(']')
					req, _ := http.NewRequest("POST", base+"/v1/events", &body)
					req.Header.Set("Authorization", "Bearer "+key)
					resp, err := client.Do(req)
					if err != nil {
						return // the server is gone
					}
					var out struct{ Events []ack }
					err = json.NewDecoder(resp.Body).Decode(&out)
					resp.Body.Close()
					if resp.StatusCode != 201 || err != nil {
						return
					}
					mu.Lock()
					for _, a := range out.Events {
						acked[a.ID] = a.Seq
					}
					mu.Unlock()
					countMu.Lock()
					count += batch
					c := count
					countMu.Unlock()
					if c >= killAt {
						once.Do(func() {
							cmd.Process.Signal(syscall.SIGKILL)
							close(killed)
						})
					}
				}
			}()
		}
		sent.Wait()
		cmd.Wait()

		// Restart and read everything back.
		cmd = serve()
		stored := readAll(t, base, key)
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()

		seen := map[string]uint64{}
		var last uint64
		order := map[int][3]int{} // publisher -> its last stored (cycle, request, index)
		for _, e := range stored {
			if e.Seq <= last {
				t.Fatalf("cycle %d: seq %d after %d: out of order", cycle, e.Seq, last)
			}
			last = e.Seq
			if _, dup := seen[e.ID]; dup {
				t.Fatalf("cycle %d: event %s stored twice", cycle, e.ID)
			}
			seen[e.ID] = e.Seq
			var c, p, i, j int
			if _, err := fmt.Sscanf(e.ID, "c%d-p%d-%d-%d", &c, &p, &i, &j); err != nil {
				t.Fatalf("cycle %d: stored id %q: %v", cycle, e.ID, err)
			}
			if prev, ok := order[p]; ok && slices.Compare(prev[:], []int{c, i, j}) >= 0 {
				t.Fatalf("cycle %d: publisher %d's event %s stored after its %v: out of order", cycle, p, e.ID, prev)
			}
			order[p] = [3]int{c, i, j}
		}
		mu.Lock()
		for id, seq := range acked {
			got, ok := seen[id]
			if !ok {
				t.Fatalf("cycle %d: acknowledged event %s (seq %d) lost after kill -9", cycle, id, seq)
			}
			if got != seq {
				t.Fatalf("cycle %d: event %s acknowledged at %d, stored at %d", cycle, id, seq, got)
			}
		}
		t.Logf("cycle %d: killed after ~%d events; %d acknowledged in all, %d stored", cycle, killAt, len(acked), len(stored))
		mu.Unlock()
	}
	t.Logf("%d kill -9 cycles, fsync %s, %d publishers: %d acknowledged, 0 lost, 0 duplicated, 0 out of order",
		cycles, fsync, publishers, len(acked))
}

// envInt reads a positive count from the environment (make targets set
// them for long runs), or def.
func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

// buildHerald builds the herald binary for tests that run it as a child.
func buildHerald(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "herald")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/herald")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("build: %v", err)
	}
	return bin
}

type storedEvent struct {
	Seq uint64 `json:"seq"`
	ID  string `json:"id"`
}

func readAll(t *testing.T, base, key string) []storedEvent {
	t.Helper()
	var all []storedEvent
	after := uint64(0)
	for {
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/v1/events?after=%d&limit=1000", base, after), nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Events []storedEvent
			Next   uint64
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("read after %d: %d %v", after, resp.StatusCode, err)
		}
		all = append(all, page.Events...)
		if len(page.Events) == 0 {
			return all
		}
		after = page.Next
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitHealthy(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("server did not become ready in 30s")
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
