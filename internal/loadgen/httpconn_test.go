package loadgen

import (
	"bufio"
	"net"
	"testing"
)

// Answers with a length, chunked, and until the connection closes are read
// whole, and the connection stays usable after the ones that allow it.
func TestHTTPConnBodies(t *testing.T) {
	tests := []struct {
		name    string
		answer  string
		status  int
		body    string
		wantErr bool
	}{
		{"length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 200, "hello", false},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;x=y\r\n, world\r\n0\r\nTrailer: 1\r\n\r\n", 200, "hello, world", false},
		{"until close", "HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: 1\n\n", 200, "data: 1\n\n", false},
		{"retry", "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 2\r\nContent-Length: 0\r\n\r\n", 429, "", false},
		{"no content", "HTTP/1.1 204 No Content\r\n\r\n", 204, "", false},
		{"short", "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nhello", 200, "", true},
		{"bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 200, "", true},
		{"not http", "SSH-2.0-OpenSSH\r\n\r\n", 0, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client, server := net.Pipe()
			defer client.Close()
			go func() {
				defer server.Close()
				r := bufio.NewReader(server)
				for { // the request head
					line, err := r.ReadString('\n')
					if err != nil || line == "\r\n" {
						break
					}
				}
				server.Write([]byte(tc.answer))
			}()
			c := &httpConn{conn: client, r: bufio.NewReader(client), host: "example"}
			h, body, err := c.roundTrip("GET", []byte("/x"), "", nil)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error: %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if h.status != tc.status || string(body) != tc.body {
				t.Fatalf("status %d body %q; want %d %q", h.status, body, tc.status, tc.body)
			}
			if tc.status == 429 && h.retryAfter.Seconds() != 2 {
				t.Fatalf("retry after %v", h.retryAfter)
			}
		})
	}
}

func TestSendRequest(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	got := make(chan string)
	go func() {
		defer server.Close()
		b := make([]byte, 4096)
		n, _ := server.Read(b)
		got <- string(b[:n])
	}()
	c := &httpConn{conn: client, r: bufio.NewReader(client), host: "h:1"}
	go c.send("POST", []byte("/p?q=1"), "X-A: b\r\n", []byte("body"))
	want := "POST /p?q=1 HTTP/1.1\r\nHost: h:1\r\nX-A: b\r\nContent-Length: 4\r\n\r\nbody"
	if s := <-got; s != want {
		t.Fatalf("request %q, want %q", s, want)
	}
}
