package zulip

import (
	"fmt"
	"testing"
)

// TestMetaCache: a meta is decoded once and shared by the polls of every
// queue stored with it; one that is not JSON is an error, never cached; a
// full cache drops the metas not asked for in a generation, and only those.
func TestMetaCache(t *testing.T) {
	c := newMetaCache(4)
	raw := func(i int) []byte { return fmt.Appendf(nil, `{"user_id":%d,"scheme":2}`, i) }
	m1, err := c.decode(raw(1))
	if err != nil || m1.UserID != 1 || m1.Scheme != queueScheme {
		t.Fatalf("decode: %+v %v", m1, err)
	}
	if again, _ := c.decode(raw(1)); again != m1 {
		t.Error("a meta decoded again")
	}
	if _, err := c.decode([]byte(`{"user_id":`)); err == nil {
		t.Error("a meta that is not JSON decoded")
	}
	// 1 and 2 fill the newer generation; 3 starts another, and asking for 1
	// keeps it there; 4 and 5 then drop 2 (not asked for), not 1.
	c.decode(raw(2))
	c.decode(raw(3))
	c.decode(raw(1))
	c.decode(raw(4))
	c.decode(raw(5))
	if again, _ := c.decode(raw(1)); again != m1 {
		t.Error("a meta in use was dropped")
	}
	if _, ok := c.cur[string(raw(2))]; ok {
		t.Error("a meta not asked for stayed")
	}
	if _, ok := c.old[string(raw(2))]; ok {
		t.Error("a meta not asked for stayed")
	}
}
