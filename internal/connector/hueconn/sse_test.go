package hueconn

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func readAll(t testing.TB, in string) ([]message, error) {
	rd := newSSEReader(strings.NewReader(in))
	var out []message
	for {
		m, err := rd.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return out, err
		}
		out = append(out, m)
	}
}

func TestSSEReader(t *testing.T) {
	in := ": hi\n\nid: 1:0\ndata: [1,\ndata:2]\n\n: keep-alive\r\n\r\nid: 2:0\r\ndata: [3]\r\rdata: [4]\n\n"
	msgs, err := readAll(t, in)
	if err != nil {
		t.Fatal(err)
	}
	want := []message{{"1:0", []byte("[1,\n2]")}, {"2:0", []byte("[3]")}, {"2:0", []byte("[4]")}}
	if len(msgs) != len(want) {
		t.Fatalf("%d messages: %q", len(msgs), msgs)
	}
	for i := range want {
		if msgs[i].id != want[i].id || !bytes.Equal(msgs[i].data, want[i].data) {
			t.Fatalf("message %d: %q, want %q", i, msgs[i], want[i])
		}
	}
	if _, err := readAll(t, "data: "+strings.Repeat("x", maxMessage)+"\n\n"); !errors.Is(err, errMessageTooLarge) {
		t.Fatalf("a message over the limit: %v", err)
	}
}

// FuzzSSEReader: any stream reads to its end without a panic, and what is
// read, written back as SSE, reads the same.
func FuzzSSEReader(f *testing.F) {
	f.Add(": hi\n\nid: 1:0\ndata: [1]\n\n")
	f.Add("data: a\r\ndata: b\r\r\n\nid\ndata\n\n")
	f.Fuzz(func(t *testing.T, in string) {
		msgs, err := readAll(t, in)
		if err != nil {
			return
		}
		var b strings.Builder
		for _, m := range msgs {
			if strings.ContainsAny(m.id, "\r\n") {
				t.Fatalf("id %q holds a line break", m.id)
			}
			b.WriteString("id: " + m.id + "\n")
			for _, line := range strings.Split(string(m.data), "\n") {
				b.WriteString("data: " + line + "\n")
			}
			b.WriteString("\n")
		}
		again, err := readAll(t, b.String())
		if err != nil || len(again) != len(msgs) {
			t.Fatalf("again: %d messages, %v; first %d", len(again), err, len(msgs))
		}
		for i := range msgs {
			if again[i].id != msgs[i].id || !bytes.Equal(again[i].data, msgs[i].data) {
				t.Fatalf("message %d: %q then %q", i, msgs[i], again[i])
			}
		}
	})
}
