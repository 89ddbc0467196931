package deliver

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// FuzzDetachedConn feeds a detached connection arbitrary bytes: whatever
// they are, the engine answers only in whole HTTP/1.1 responses, closes
// the connection at the end, and never panics.
func FuzzDetachedConn(f *testing.F) {
	for _, seed := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx",
		"HEAD /flush HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /flush HTTP/1.0\r\n\r\n",
		"GET / HTTP/1.1\r\n\r\n",
		"\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) { io.Copy(w, r.Body) })
	mux.HandleFunc("/flush", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "a")
		w.(http.Flusher).Flush()
		io.WriteString(w, "b")
	})
	f.Fuzz(func(t *testing.T, in []byte) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		e := New(Config{Shutdown: ctx})
		e.SetHandler(mux, ConnLimits{HeaderTimeout: time.Second, IdleTimeout: time.Second, MaxHeaderBytes: 1 << 10})
		client, server := net.Pipe()
		c := &conn{e: e, srv: e.serving.Load(), nc: server, fd: -1, remote: "pipe"}
		done := make(chan struct{})
		go func() { defer close(done); e.serve(c) }()
		go func() { client.Write(in); time.Sleep(10 * time.Millisecond); client.Close() }()
		var out bytes.Buffer
		client.SetReadDeadline(time.Now().Add(5 * time.Second))
		io.Copy(&out, client)
		<-done
		br := bufio.NewReader(&out)
		for {
			if _, err := br.Peek(1); err != nil {
				return
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("not a whole response (%v) in %q", err, out.String())
			}
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				if bytes.Contains(in, []byte("HEAD")) {
					return // ReadResponse without the request cannot know a HEAD's body is empty
				}
				t.Fatalf("body: %v in %q", err, out.String())
			}
		}
	})
}
