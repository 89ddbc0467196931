package zulip

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/cursor"
)

// A queue's blocking polls, one after another, share its slot and context;
// a poll that comes while one is in flight finishes that one and gets a
// context of its own.
func TestPollSlots(t *testing.T) {
	p := newPolls()
	st := &cursor.State{ID: "zulip.zulip.q1", Owner: "k1", Created: time.Unix(1, 0)}
	ctx1, end1 := p.wait(st, "q1")
	if !p.polling(st.ID) || p.inFlight() != 1 {
		t.Fatal("the poll is not in flight")
	}
	end1()
	if p.polling(st.ID) || p.inFlight() != 0 || ctx1.Err() != nil {
		t.Fatalf("over: polling %v, ctx %v", p.polling(st.ID), ctx1.Err())
	}
	ctx2, end2 := p.wait(st, "q1")
	if ctx2 != ctx1 {
		t.Fatal("the next poll made a context of its own")
	}
	ctx3, end3 := p.wait(st, "q1") // while the second is in flight
	if ctx3 == ctx2 || !errors.Is(context.Cause(ctx2), errReleased) || ctx3.Err() != nil {
		t.Fatalf("the second poll was not released: %v, %v", context.Cause(ctx2), ctx3.Err())
	}
	end2() // late: the third's slot stays
	if !p.polling(st.ID) {
		t.Fatal("a released poll's end ended the newer one")
	}
	end3()
	end3() // twice: nothing more
	if ctx4, end4 := p.wait(st, "q1"); ctx4 != ctx3 {
		t.Fatal("the slot was not kept")
	} else {
		end4()
	}

	// release finishes a poll in flight, and forgets an idle slot.
	ctx5, _ := p.wait(st, "q1")
	p.release(st.ID)
	if !errors.Is(context.Cause(ctx5), errReleased) || p.polling(st.ID) {
		t.Fatalf("release: %v", context.Cause(ctx5))
	}
	ctx6, end6 := p.wait(st, "q1")
	end6()
	p.release(st.ID)
	if ctx6.Err() != nil || len(p.m) != 0 {
		t.Fatalf("releasing an idle slot: ctx %v, %d slots", ctx6.Err(), len(p.m))
	}
}

// A poll that does not block has a context of its request's, ended with
// the poll, and never takes a slot's context over.
func TestPollSlotsNotBlocking(t *testing.T) {
	p := newPolls()
	st := &cursor.State{ID: "zulip.zulip.q1"}
	wctx, wend := p.wait(st, "q1")
	wend()
	req, cancel := context.WithCancel(context.Background())
	defer cancel()
	ctx, end := p.begin(req, st, "q1")
	if ctx == wctx || ctx.Err() != nil {
		t.Fatal("a poll that does not block took the slot's context")
	}
	end()
	if ctx.Err() == nil || len(p.m) != 0 {
		t.Fatalf("over: ctx %v, %d slots", ctx.Err(), len(p.m))
	}
	ctx, end = p.begin(req, st, "q1")
	cancel()
	if ctx.Err() == nil {
		t.Fatal("its context is not its request's")
	}
	nctx, nend := p.begin(context.Background(), st, "q1") // a newer poll
	end()                                                 // late
	if !p.polling(st.ID) || nctx.Err() != nil {
		t.Fatal("a released poll's end ended the newer one")
	}
	nend()
	if ctx2, _ := p.wait(st, "q1"); ctx2 == wctx || ctx2.Err() != nil {
		t.Fatal("a blocking poll took an old context")
	}
}

// Idle slots are forgotten after slotIdle; slots in flight never.
func TestPollSlotsSweep(t *testing.T) {
	p := newPolls()
	now := time.Unix(1000, 0)
	p.now = func() time.Time { return now }
	busy := &cursor.State{ID: "zulip.zulip.busy"}
	old := &cursor.State{ID: "zulip.zulip.old"}
	recent := &cursor.State{ID: "zulip.zulip.recent"}
	p.wait(busy, "busy")
	_, end := p.wait(old, "old")
	end()
	now = now.Add(slotIdle / 2)
	_, end = p.wait(recent, "recent")
	end()
	now = now.Add(slotIdle/2 + time.Second)
	other := &cursor.State{ID: "zulip.zulip.other"}
	for range sweepEvery {
		_, end := p.wait(other, "other")
		end()
	}
	if _, ok := p.m[old.ID]; ok {
		t.Fatal("an idle slot was kept")
	}
	for _, id := range []string{busy.ID, recent.ID, other.ID} {
		if _, ok := p.m[id]; !ok {
			t.Fatalf("slot %s was forgotten", id)
		}
	}
	if !p.polling(busy.ID) {
		t.Fatal("the poll in flight is not")
	}
}

// An expiry finishes the polls in flight on the queues it names, with its
// cause, and no other.
func TestPollSlotsExpire(t *testing.T) {
	p := newPolls()
	a := &cursor.State{ID: "zulip.zulip.a", Owner: "k1"}
	b := &cursor.State{ID: "zulip.zulip.b", Owner: "k2"}
	c := &cursor.State{ID: "zulip.zulip.c", Owner: "k1"}
	actx, _ := p.wait(a, "a")
	bctx, _ := p.wait(b, "b")
	cctx, cend := p.wait(c, "c")
	cend()
	cause := errors.New("expired")
	p.expire(func(owner, qid string, _ time.Time) bool { return owner == "k1" }, cause)
	if context.Cause(actx) != cause || bctx.Err() != nil || cctx.Err() != nil || p.polling(a.ID) || !p.polling(b.ID) {
		t.Fatalf("a %v, b %v, c %v", context.Cause(actx), bctx.Err(), cctx.Err())
	}
}
