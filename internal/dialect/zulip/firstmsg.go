package zulip

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/topic"
)

// A stream's first_message_id is the id of its oldest message, null when it
// has none (after a deletion Zulip recomputes it, so retention here gives
// the oldest message the log still holds). Message ids come from the
// dialect's counter, not from log positions, and a stream's messages share
// the realm's message topic, so the log cannot be asked for a stream's first
// message. The stream's record keeps it instead (FirstMessageID and
// FirstMessageSeq):
//
//  1. Sending a message to a stream whose record has no first message
//     stores the message's id and log position there, after the append
//     (compare-and-set; the lowest id wins a race). One write per stream,
//     not per message.
//  2. Reading streams for a client compares the stored positions with the
//     log's first (one engine call, and only if some stream has a first
//     message). For the streams retention reached, the realm's messages are
//     read forward from the log's start until each has its oldest held
//     message, or the end; the answer is stored, so the scan is paid once
//     each time retention passes a stream's first message, not per request.
//     A stream left with no message stores how far the log was read
//     (FirstMessageID 0, FirstMessageSeq the position; rewritten only
//     every MaxRead events), and the next read goes on from there, so a
//     message sent meanwhile is not missed.
//
// A crash between a stream's first append and step 1 leaves the record
// without it; the stream's next message becomes its first.

// firstMessage is a stream's first message: its id and its log position.
type firstMessage struct {
	id  int64
	seq uint64
}

// noteStreamMessage records message id, stored at seq, as the first of
// stream s if s had none when the message was sent (step 1).
func (a *API) noteStreamMessage(ctx context.Context, s *streamRecord, id int64, seq uint64) {
	if s.FirstMessageID != 0 {
		return
	}
	// The message is sent whatever the client does now: so is this write.
	err := a.updateStream(context.WithoutCancel(ctx), s, func(rec *streamRecord) bool {
		if rec.FirstMessageID != 0 && rec.FirstMessageID < id {
			return false
		}
		rec.FirstMessageID, rec.FirstMessageSeq = id, seq
		return true
	})
	if err != nil {
		// The message is sent; only first_message_id lags.
		a.core.Logger.Warn("zulip: record a stream's first message", "stream", s.StreamID, "err", err)
	}
}

// clientStreams returns the realm's streams, their first messages brought
// up to date with the log's retention (step 2).
func (a *API) clientStreams(ctx context.Context, realm string) ([]streamRecord, error) {
	streams, err := a.streams(ctx, realm)
	if err != nil {
		return nil, err
	}
	var check []int
	for i := range streams {
		if streams[i].FirstMessageSeq != 0 {
			check = append(check, i)
		}
	}
	if len(check) == 0 {
		return streams, nil
	}
	first, _, err := a.core.Hub.Bounds(ctx)
	if err != nil {
		return nil, err
	}
	from := uint64(0) // read the log after this position
	want := map[int64]bool{}
	var stale []int
	for _, i := range check {
		s := &streams[i]
		if s.FirstMessageID != 0 && s.FirstMessageSeq >= first {
			continue // still held
		}
		after := max(first, 1) - 1
		if s.FirstMessageID == 0 {
			after = max(after, s.FirstMessageSeq) // none through FirstMessageSeq
		}
		if len(stale) == 0 || after < from {
			from = after
		}
		want[s.StreamID] = true
		stale = append(stale, i)
	}
	if len(stale) == 0 {
		return streams, nil
	}
	found, through, err := a.oldestMessages(ctx, realm, from, want)
	if err != nil {
		return nil, err
	}
	for _, i := range stale {
		s := &streams[i]
		f, ok := found[s.StreamID]
		if !ok {
			f = firstMessage{seq: through} // none through here
			if s.FirstMessageID == 0 && through < s.FirstMessageSeq+eventlog.MaxRead {
				// Not worth a write per read: the next read scans at
				// most one more batch.
				continue
			}
		}
		if f.id == s.FirstMessageID && f.seq == s.FirstMessageSeq {
			continue
		}
		old := *s
		err := a.updateStream(ctx, s, func(rec *streamRecord) bool {
			// Only replace what was read: a send may have stored a
			// first message meanwhile.
			if rec.FirstMessageID != old.FirstMessageID || rec.FirstMessageSeq != old.FirstMessageSeq {
				*s = *rec
				return false
			}
			rec.FirstMessageID, rec.FirstMessageSeq = f.id, f.seq
			return true
		})
		if err != nil {
			return nil, err
		}
	}
	return streams, nil
}

// oldestMessages reads the realm's messages after position after and
// returns the first of each stream in want, and the position it read to.
// It stops when every stream has one or at the log's end.
func (a *API) oldestMessages(ctx context.Context, realm string, after uint64, want map[int64]bool) (map[int64]firstMessage, uint64, error) {
	found := map[int64]firstMessage{}
	// Retention may move on while reading: what it removed is not held.
	sc := a.core.Scan(after, topic.Filter{"zulip." + realm + ".message"}, dialect.SkipExpired())
	for e := range sc.Events(ctx) {
		var ev struct {
			Message struct {
				ID       int64  `json:"id"`
				Type     string `json:"type"`
				StreamID int64  `json:"stream_id"`
			} `json:"message"`
		}
		if json.Unmarshal(e.Data, &ev) != nil || ev.Message.Type != "stream" {
			continue
		}
		sid := ev.Message.StreamID
		if _, seen := found[sid]; want[sid] && !seen {
			found[sid] = firstMessage{id: ev.Message.ID, seq: e.Seq}
			if len(found) == len(want) {
				break
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, sc.Position(), fmt.Errorf("zulip: read a stream's first message: %w", err)
	}
	return found, sc.Position(), nil
}

// updateStream applies change to the stored record of stream s with
// compare-and-set, retrying on conflict; change returns false to leave the
// record as it is. s is set to the record stored.
func (a *API) updateStream(ctx context.Context, s *streamRecord, change func(*streamRecord) bool) error {
	key := streamKey(s.Realm, s.Name)
	for range 50 {
		e, err := a.kv.Get(ctx, key)
		if err != nil {
			return fmt.Errorf("zulip: stream %s: %w", s.Name, err)
		}
		var rec streamRecord
		if err := json.Unmarshal(e.Value, &rec); err != nil {
			return fmt.Errorf("zulip: stream record %s: %w", key, err)
		}
		if rec.StreamID != s.StreamID || !change(&rec) {
			return nil
		}
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		if _, err = a.kv.Update(ctx, key, b, e.Revision); err == nil {
			*s = rec
			return nil
		}
		if !errors.Is(err, eventlog.ErrConflict) {
			return fmt.Errorf("zulip: stream %s: %w", s.Name, err)
		}
	}
	return fmt.Errorf("zulip: stream %s: too much contention", s.Name)
}
