package framing

import (
	"net/http/httptest"
	"testing"
	"time"
)

func TestAppendEvent(t *testing.T) {
	tests := []struct {
		id, event string
		data      string
		want      string
	}{
		{"7", "opened", `{"a":1}`, "id: 7\nevent: opened\ndata: {\"a\":1}\n\n"},
		{"", "", "x", "data: x\n\n"},
		{"1", "", "a\nb\r\nc", "id: 1\ndata: a\ndata: b\ndata: c\n\n"},
		{"", "ping", "", "event: ping\ndata: \n\n"},
	}
	for _, tc := range tests {
		if got := string(AppendEvent(nil, tc.id, tc.event, []byte(tc.data))); got != tc.want {
			t.Errorf("AppendEvent(%q,%q,%q) = %q, want %q", tc.id, tc.event, tc.data, got, tc.want)
		}
	}
}

func TestSSE(t *testing.T) {
	rec := httptest.NewRecorder()
	s, err := StartSSE(rec, SSEOptions{Retry: 2 * time.Second, Preamble: []byte(": hi\n\n")})
	if err != nil {
		t.Fatal(err)
	}
	s.Event("1", "t", []byte("{}"))
	s.Comment("keep-alive")
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	want := ": hi\n\nretry: 2000\n\nid: 1\nevent: t\ndata: {}\n\n: keep-alive\n\n"
	if rec.Body.String() != want {
		t.Fatalf("body = %q", rec.Body.String())
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/event-stream; charset=utf-8" {
		t.Fatalf("Content-Type = %q", ct)
	}
	if !rec.Flushed {
		t.Fatal("not flushed")
	}
}
