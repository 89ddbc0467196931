package server

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestDualListenerServesHTTPAndHTTPS(t *testing.T) {
	env := startDualHTTP(t, DefaultPeekTimeout, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.TLS != nil)
	}))
	client := env.client(t)
	_, port, _ := net.SplitHostPort(env.addr)

	tests := []struct {
		name    string
		url     string
		wantTLS bool
	}{
		{name: "https by IP", url: "https://127.0.0.1:" + port + "/", wantTLS: true},
		{name: "https by name", url: "https://localhost:" + port + "/", wantTLS: true},
		{name: "http", url: "http://127.0.0.1:" + port + "/", wantTLS: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Twice, so the second request reuses the kept-alive connection
			// and proves reads after the replayed byte are intact.
			for i := range 2 {
				resp, err := client.Get(tt.url)
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Fatalf("request %d: read body: %v", i, err)
				}
				if got, want := string(body), fmt.Sprint(tt.wantTLS); got != want {
					t.Errorf("request %d: r.TLS != nil is %s, want %s", i, got, want)
				}
				if tt.wantTLS && (resp.TLS == nil || len(resp.TLS.VerifiedChains) == 0) {
					t.Errorf("request %d: no verified certificate chain", i)
				}
			}
		})
	}

	if got, want := env.ln.Addr().String(), env.addr; got != want {
		t.Errorf("Addr() = %s, want the inner listener's %s", got, want)
	}
}

func TestDualListenerSilentClientDoesNotBlock(t *testing.T) {
	env := startDualHTTP(t, time.Minute, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.TLS != nil)
	}))

	// Connect and say nothing; wait until the listener is waiting on it.
	silent, err := net.Dial("tcp", env.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	waitFor(t, "silent client being sniffed", func() bool { return sniffingCount(env.ln) == 1 })

	client := env.client(t)
	client.Timeout = 5 * time.Second
	for _, scheme := range []string{"http", "https"} {
		t.Run(scheme, func(t *testing.T) {
			start := time.Now()
			resp, err := client.Get(scheme + "://" + env.addr + "/")
			if err != nil {
				t.Fatalf("request while a silent client is connected: %v", err)
			}
			resp.Body.Close()
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("request took %v with a silent client connected", d)
			}
		})
	}
	if n := sniffingCount(env.ln); n != 1 {
		t.Errorf("%d connections being sniffed, want the silent one", n)
	}
}

func TestDualListenerDropsSilentClient(t *testing.T) {
	cert := dualTestCert(t)
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ln := NewDualListener(inner, cert.config, 100*time.Millisecond, WithDualListenerLogger(logger))
	accepted, acceptDone := acceptAll(ln)

	silent, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	silent.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := silent.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("silent client: Read = %d, %v; want the server to close the connection", n, err)
	}

	// A client that speaks is still accepted afterwards.
	talker, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer talker.Close()
	if _, err := talker.Write([]byte("GET")); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-accepted:
		buf := make([]byte, 3)
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "GET" {
			t.Errorf("accepted conn read %q, %v; want %q", buf, err, "GET")
		}
		c.Close()
	case <-time.After(10 * time.Second):
		t.Fatal("talking client was not accepted")
	}

	if err := ln.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	<-acceptDone
	if n := len(accepted); n != 0 {
		t.Errorf("Accept returned %d more connections, want the silent one dropped", n)
	}
	// Close waited for the sniffers, so their log lines are complete.
	if !strings.Contains(logs.String(), "dropping connection") {
		t.Errorf("no debug log for the dropped connection; logs:\n%s", logs.String())
	}
}

func TestDualListenerClose(t *testing.T) {
	tests := []struct {
		name string
		// send is what the client writes before Close; ready reports when
		// the listener holds the connection in the state under test.
		send  string
		ready func(l net.Listener, innerAccepted int64) bool
	}{
		{
			name:  "silent client being sniffed",
			ready: func(l net.Listener, _ int64) bool { return sniffingCount(l) == 1 },
		},
		{
			name: "sniffed client not yet accepted",
			send: "GET / HTTP/1.1\r\n",
			ready: func(l net.Listener, n int64) bool {
				return n == 1 && sniffingCount(l) == 0
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer goleak.VerifyNone(t)

			cert := dualTestCert(t)
			tcp, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			inner := &countingListener{Listener: tcp}
			ln := NewDualListener(inner, cert.config, time.Minute)

			client, err := net.Dial("tcp", tcp.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			if tt.send != "" {
				if _, err := io.WriteString(client, tt.send); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, tt.name, func() bool { return tt.ready(ln, inner.accepted.Load()) })

			if err := ln.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if err := ln.Close(); !errors.Is(err, net.ErrClosed) {
				t.Errorf("second Close = %v, want net.ErrClosed", err)
			}
			if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
				t.Errorf("Accept after Close = %v, want net.ErrClosed", err)
			}

			client.SetReadDeadline(time.Now().Add(10 * time.Second))
			if n, err := client.Read(make([]byte, 1)); err == nil || isTimeout(err) {
				t.Errorf("client Read after Close = %d, %v; want the connection closed", n, err)
			}
		})
	}
}

func TestDualListenerCloseUnblocksAccept(t *testing.T) {
	defer goleak.VerifyNone(t)

	cert := dualTestCert(t)
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := NewDualListener(inner, cert.config, time.Minute)
	errc := make(chan error, 1)
	go func() {
		_, err := ln.Accept()
		errc <- err
	}()
	if err := ln.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept = %v, want net.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Accept still blocked after Close")
	}
}

func TestDualListenerAcceptErrors(t *testing.T) {
	defer goleak.VerifyNone(t)

	cert := dualTestCert(t)
	temporary := &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept", syscall.EMFILE)}
	fatal := errors.New("listener broke")
	inner := newScriptedListener(temporary, fatal)
	ln := NewDualListener(inner, cert.config, time.Minute)

	tests := []struct {
		name string
		want error
	}{
		{name: "temporary error passed through", want: syscall.EMFILE},
		{name: "fatal error passed through", want: fatal},
		{name: "fatal error sticks", want: fatal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ln.Accept()
			if c != nil || !errors.Is(err, tt.want) {
				t.Errorf("Accept = %v, %v; want nil, %v", c, err, tt.want)
			}
		})
	}
	// The temporary error must keep its type so http.Server retries.
	if !isTemporary(temporary) {
		t.Error("isTemporary(EMFILE) = false")
	}

	if err := ln.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestDualListenerConnPassthrough(t *testing.T) {
	type result struct {
		tls      bool
		connType string
	}
	seen := make(chan result, 1)
	env := startDualHTTP(t, DefaultPeekTimeout, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		// Deadlines reach the wrapped connection's SetReadDeadline and
		// SetWriteDeadline.
		if err := rc.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
			http.Error(w, "SetReadDeadline: "+err.Error(), http.StatusInternalServerError)
			return
		}
		if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			http.Error(w, "SetWriteDeadline: "+err.Error(), http.StatusInternalServerError)
			return
		}
		conn, brw, err := rc.Hijack()
		if err != nil {
			http.Error(w, "Hijack: "+err.Error(), http.StatusInternalServerError)
			return
		}
		defer conn.Close()
		seen <- result{tls: r.TLS != nil, connType: fmt.Sprintf("%T", conn)}

		// Read what the client sent after the request on the hijacked
		// connection, then answer in raw HTTP.
		line, err := brw.ReadString('\n')
		if err != nil {
			return
		}
		fmt.Fprintf(brw, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nremote=%s echo=%s", r.RemoteAddr, strings.TrimSpace(line))
		brw.Flush()
	}))

	tests := []struct {
		name     string
		dial     func() (net.Conn, error)
		wantTLS  bool
		wantType string
	}{
		{
			name:     "plain",
			dial:     func() (net.Conn, error) { return net.Dial("tcp", env.addr) },
			wantType: "*server.sniffedConn",
		},
		{
			name: "tls",
			dial: func() (net.Conn, error) {
				return tls.Dial("tcp", env.addr, &tls.Config{RootCAs: env.cert.roots})
			},
			wantTLS:  true,
			wantType: "*tls.Conn",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := tt.dial()
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(conn, "GET /hijack HTTP/1.1\r\nHost: herald\r\n\r\nping\n"); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("read response: %v", err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("read body: %v", err)
			}
			want := fmt.Sprintf("remote=%s echo=ping", conn.LocalAddr())
			if resp.StatusCode != http.StatusOK || string(body) != want {
				t.Errorf("response %d %q, want 200 %q", resp.StatusCode, body, want)
			}
			got := <-seen
			if got.tls != tt.wantTLS || got.connType != tt.wantType {
				t.Errorf("handler saw TLS=%v conn %s, want TLS=%v conn %s", got.tls, got.connType, tt.wantTLS, tt.wantType)
			}
		})
	}
}

func TestSniffedConnRead(t *testing.T) {
	tests := []struct {
		name    string
		bufSize int
		want    []string // successive reads
	}{
		{name: "one byte at a time", bufSize: 1, want: []string{"h", "e", "l", "l", "o"}},
		{name: "large buffer", bufSize: 16, want: []string{"h", "ello"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server, client := net.Pipe()
			defer server.Close()
			defer client.Close()
			go func() {
				io.WriteString(client, "ello")
				client.Close()
			}()

			c := &sniffedConn{Conn: server, first: 'h', pending: true}
			if n, err := c.Read(nil); n != 0 || err != nil {
				t.Errorf("Read(nil) = %d, %v; want 0, nil without consuming the byte", n, err)
			}
			buf := make([]byte, tt.bufSize)
			for i, want := range tt.want {
				n, err := c.Read(buf)
				if err != nil || string(buf[:n]) != want {
					t.Fatalf("read %d = %q, %v; want %q", i, buf[:n], err, want)
				}
			}
			if n, err := c.Read(buf); err != io.EOF {
				t.Errorf("final Read = %d, %v; want io.EOF", n, err)
			}
		})
	}
}

func TestSniffedConnCloseWrite(t *testing.T) {
	tests := []struct {
		name    string
		pair    func(t *testing.T) (server, client net.Conn)
		wantErr error
	}{
		{name: "tcp", pair: tcpPair},
		{name: "pipe", pair: func(*testing.T) (net.Conn, net.Conn) { return net.Pipe() }, wantErr: errors.ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server, client := tt.pair(t)
			defer server.Close()
			defer client.Close()
			c := &sniffedConn{Conn: server}

			err := c.CloseWrite()
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("CloseWrite = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			// The client sees EOF, yet can still send.
			client.SetDeadline(time.Now().Add(10 * time.Second))
			if n, err := client.Read(make([]byte, 1)); err != io.EOF {
				t.Errorf("client Read after CloseWrite = %d, %v; want io.EOF", n, err)
			}
			if _, err := io.WriteString(client, "x"); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 1)
			server.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.ReadFull(c, buf); err != nil || buf[0] != 'x' {
				t.Errorf("server read %q, %v after CloseWrite; want %q", buf, err, "x")
			}
		})
	}
}

func TestSniffedConnReadFrom(t *testing.T) {
	server, client := tcpPair(t)
	defer server.Close()
	defer client.Close()
	c := &sniffedConn{Conn: server}

	payload := bytes.Repeat([]byte("herald "), 1000)
	go func() {
		c.ReadFrom(bytes.NewReader(payload))
		c.CloseWrite()
	}()
	client.SetDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(client)
	if err != nil || !bytes.Equal(got, payload) {
		t.Errorf("client read %d bytes, %v; want the %d-byte payload", len(got), err, len(payload))
	}
}

// dualCert is a generated certificate with a server config and a client
// pool that trusts it.
type dualCert struct {
	config *tls.Config
	roots  *x509.CertPool
}

func dualTestCert(t *testing.T) dualCert {
	t.Helper()
	cert, err := LoadOrCreateCert(t.TempDir(), nil)
	if err != nil {
		t.Fatalf("LoadOrCreateCert: %v", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(certLeaf(t, cert))
	return dualCert{
		config: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		roots:  roots,
	}
}

// dualHTTPEnv is an http.Server running on a dual listener.
type dualHTTPEnv struct {
	addr string
	ln   net.Listener
	cert dualCert
}

// startDualHTTP serves h on a dual listener on loopback until the test ends.
func startDualHTTP(t *testing.T, peekTimeout time.Duration, h http.Handler) *dualHTTPEnv {
	t.Helper()
	cert := dualTestCert(t)
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := NewDualListener(inner, cert.config, peekTimeout)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return &dualHTTPEnv{addr: inner.Addr().String(), ln: ln, cert: cert}
}

// client returns an HTTP client that trusts only env's certificate.
func (env *dualHTTPEnv) client(t *testing.T) *http.Client {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: env.cert.roots}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// acceptAll accepts from ln until Accept fails, passing the connections on
// (up to 10 waiting); done is closed when it stops.
func acceptAll(ln net.Listener) (accepted <-chan net.Conn, done <-chan struct{}) {
	conns, stopped := make(chan net.Conn, 10), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
		}
	}()
	return conns, stopped
}

// sniffingCount returns how many connections l is waiting on for a first byte.
func sniffingCount(l net.Listener) int {
	dl := l.(*dualListener)
	dl.mu.Lock()
	defer dl.mu.Unlock()
	return len(dl.sniffing)
}

// waitFor polls cond until it holds, failing the test after ten seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		client.Close()
		t.Fatal(err)
	}
	return server, client
}

// countingListener counts the connections its listener accepted.
type countingListener struct {
	net.Listener
	accepted atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

// scriptedListener returns the given errors from Accept in order, and
// then blocks until closed.
type scriptedListener struct {
	errs   chan error
	closed chan struct{}
	once   sync.Once
}

func newScriptedListener(errs ...error) *scriptedListener {
	l := &scriptedListener{errs: make(chan error, len(errs)), closed: make(chan struct{})}
	for _, err := range errs {
		l.errs <- err
	}
	return l
}

func (l *scriptedListener) Accept() (net.Conn, error) {
	select {
	case err := <-l.errs:
		return nil, err
	default:
	}
	<-l.closed
	return nil, net.ErrClosed
}

func (l *scriptedListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *scriptedListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// lockedBuffer is a bytes.Buffer safe for the listener's goroutines to log to.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
