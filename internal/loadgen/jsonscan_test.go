package loadgen

import "testing"

func TestJSONNumberAt(t *testing.T) {
	tests := []struct {
		doc   string
		depth int
		key   string
		want  uint64
		ok    bool
	}{
		{`{"events":[],"next":42}`, 1, "next", 42, true},
		{`{"events":[{"seq":7,"next":1,"data":{"next":2}}],"next":9}`, 1, "next", 9, true},
		{`{"events":[{"id":5,"message":{"id":99}},{"id":6,"message":{"id":100}}],"result":"success"}`, 3, "id", 6, true},
		{`{"events":[{"type":"heartbeat","id":12}]}`, 3, "id", 12, true},
		{`{"msg":"\"next\":5","next" : 8}`, 1, "next", 8, true},
		{`{"a":"\\","next":3}`, 1, "next", 3, true},
		{`{"next":"x"}`, 1, "next", 0, false},
		{`{"events":[]}`, 1, "next", 0, false},
		{`{"next":`, 1, "next", 0, false},
		{`["next",1]`, 1, "next", 0, false},
	}
	for _, tc := range tests {
		got, ok := jsonNumberAt([]byte(tc.doc), tc.depth, tc.key)
		if got != tc.want || ok != tc.ok {
			t.Errorf("jsonNumberAt(%s, %d, %q) = %d, %v; want %d, %v", tc.doc, tc.depth, tc.key, got, ok, tc.want, tc.ok)
		}
	}
}

func TestJSONStringAt(t *testing.T) {
	tests := []struct {
		doc  string
		key  string
		want string
		ok   bool
	}{
		{`{"batch":"b-1","events":[{"batch":"inner"}]}`, "batch", "b-1", true},
		{`{"BatchId":"6f1c","Count":2,"Events":[{"BatchId":"x"}]}`, "BatchId", "6f1c", true},
		{`{"batch":null,"events":[]}`, "batch", "", false},
		{`{"batch":"a\"b","next":1}`, "batch", `a\"b`, true},
		{`{"events":[],"batch" : "z"}`, "batch", "z", true},
		{`{"batch":"cut`, "batch", "", false},
		{`{"batch":`, "batch", "", false},
	}
	for _, tc := range tests {
		got, ok := jsonStringAt([]byte(tc.doc), 1, tc.key)
		if string(got) != tc.want || ok != tc.ok {
			t.Errorf("jsonStringAt(%s, 1, %q) = %q, %v; want %q, %v", tc.doc, tc.key, got, ok, tc.want, tc.ok)
		}
	}
}
