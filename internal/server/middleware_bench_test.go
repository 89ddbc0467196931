package server

import (
	"io"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/metrics"
	"github.com/herald-io/herald/internal/reqlog"
)

// BenchmarkMiddleware is what the middleware costs a tiny request (a
// long-poll's delivery is one): the handler writes a short body, the
// response writer throws everything away.
func BenchmarkMiddleware(b *testing.B) {
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devNull.Close()
	batched := reqlog.NewWriter(devNull, 64<<10, 200*time.Millisecond) // as cmd/herald's
	defer batched.Close()
	for _, c := range []struct {
		name string
		on   bool
		out  io.Writer
	}{
		{"access-log-off", false, io.Discard},
		{"access-log-on-discard", true, io.Discard}, // formatting only
		{"access-log-on-devnull", true, devNull},    // and the system call
		{"access-log-on-batched", true, batched.Lines()},
	} {
		b.Run(c.name, func(b *testing.B) {
			log := slog.New(slog.NewTextHandler(c.out, nil))
			s := &Server{cfg: Config{BodyTimeout: DefaultBodyTimeout}, metrics: metrics.New(), log: log, accessLogger: log}
			s.accessOn.Store(c.on)
			mux := http.NewServeMux()
			mux.HandleFunc("GET /v1/events", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(`{"events":[]}` + "\n"))
			})
			h := s.middleware(mux)
			r, err := http.NewRequest("GET", "http://herald/v1/events?topics=app.>", nil)
			if err != nil {
				b.Fatal(err)
			}
			r.RemoteAddr = "127.0.0.1:40000"
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, r)
			}
		})
	}
}

// discardWriter is a ResponseWriter that keeps nothing but its header map,
// which the benchmark clears for the next request as net/http would make a
// new one.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}
