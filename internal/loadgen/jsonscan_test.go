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
