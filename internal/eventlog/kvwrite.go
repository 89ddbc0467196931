package eventlog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Bounds of a compare-and-set: how long it waits for its answer when the
// caller set no deadline (see sharedDeadline), and how often (and how far apart) it is sent
// again when no stream answers (a stream between leaders), as the
// client's own KV update does.
const (
	updateTimeout      = 5 * time.Second
	updateRetries      = 2
	updateRetryBackoff = 250 * time.Millisecond
)

// update stores value under key if the key's revision is still rev: the
// message the client's KeyValue.Update publishes (the key's subject, the
// header Nats-Expected-Last-Subject-Sequence), sent as a request whose
// answer comes on the Log's reply subscription (replies), with the
// stream's acknowledgement read by hand. It is what every poll of a
// cursor writes: the client's Update checked the key with a regular
// expression, built the header and options anew, made a reply channel
// per request and decoded the acknowledgement with encoding/json — more
// than the rest of the client's part of the write. The engine gets the
// same message, so what is durable when is the same.
func (k *natsKV) update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	if !validKey(key) {
		return 0, fmt.Errorf("eventlog: kv %q: %w", key, ErrInvalidKey)
	}
	return k.write(ctx, key, value, nats.Header{jetstream.ExpectedLastSubjSeqHeader: []string{strconv.FormatUint(rev, 10)}})
}

// purge deletes key (with rev > 0 only if its revision is still rev) and
// returns the revision of its marker: the message the client's
// KeyValue.Purge publishes (a purge operation that rolls up the key's
// subject, so one marker is left instead of its history), whose
// acknowledgement the client does not return (KnownRevision needs it).
func (k *natsKV) purge(ctx context.Context, key string, rev uint64) (uint64, error) {
	if !validKey(key) {
		return 0, fmt.Errorf("eventlog: kv %q: %w", key, ErrInvalidKey)
	}
	h := nats.Header{kvOperation: []string{"PURGE"}, jetstream.MsgRollup: []string{jetstream.MsgRollupSubject}}
	if rev > 0 {
		h[jetstream.ExpectedLastSubjSeqHeader] = []string{strconv.FormatUint(rev, 10)}
	}
	return k.write(ctx, key, nil, h)
}

// kvOperation is the header that marks a KV message a deletion or purge.
const kvOperation = "KV-Operation"

// write publishes one message to key's subject and returns the sequence
// the stream acknowledged it at.
func (k *natsKV) write(ctx context.Context, key string, value []byte, h nats.Header) (uint64, error) {
	if _, ok := ctx.Deadline(); !ok {
		if ctx.Done() == nil {
			ctx = k.deadline.context(ctx) // no timer of its own
		} else {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, updateTimeout)
			defer cancel()
		}
	}
	m := &nats.Msg{Subject: k.subjects + key, Header: h, Data: value}
	ans := k.replies.expect()
	defer ans.done()
	m.Reply = ans.Subject
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return 0, kvErr(key, err) // nothing sent: nothing written
		}
		if err := k.nc.PublishMsg(m); err != nil {
			return 0, kvErr(key, err)
		}
		a, err := ans.next(ctx)
		if err != nil {
			return 0, kvErr(key, err)
		}
		if len(a.Data) == 0 && a.Header.Get("Status") == "503" {
			// No stream took it: nothing was stored, so it may go again.
			if attempt == updateRetries {
				return 0, kvErr(key, jetstream.ErrNoStreamResponse)
			}
			t := time.NewTimer(updateRetryBackoff)
			select {
			case <-t.C:
				continue
			case <-ctx.Done():
				t.Stop()
				return 0, kvErr(key, ctx.Err())
			}
		}
		seq, err := k.pubAck(a.Data)
		return seq, kvErr(key, err)
	}
}

// pubAck reads the stream's acknowledgement of a write: the sequence it
// stored it at, or the stream's error. The engine writes a success from a
// template, {"stream":<name>,"seq":<n>}, read here without a decoder;
// anything else (an error, a domain, a field a newer engine adds) is
// decoded.
func (k *natsKV) pubAck(data []byte) (uint64, error) {
	if rest, ok := bytes.CutPrefix(data, k.ackPrefix); ok && len(rest) > 1 && rest[len(rest)-1] == '}' {
		if seq, err := strconv.ParseUint(string(rest[:len(rest)-1]), 10, 64); err == nil {
			return seq, nil
		}
	}
	var resp struct {
		Error  *jetstream.APIError `json:"error"`
		Stream string              `json:"stream"`
		Seq    uint64              `json:"seq"`
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		return 0, jetstream.ErrInvalidJSAck
	}
	switch {
	case resp.Error != nil:
		return 0, resp.Error
	case resp.Stream == "":
		return 0, jetstream.ErrInvalidJSAck
	}
	return resp.Seq, nil
}

// validKey is the client's check of a key (its KeyValue refuses any other
// with ErrInvalidKey): letters, digits and "-/_=." in tokens that are not
// empty.
func validKey(key string) bool {
	if key == "" || key[0] == '.' || key[len(key)-1] == '.' {
		return false
	}
	for i := 0; i < len(key); i++ {
		switch c := key[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '-', c == '/', c == '_', c == '=':
		case c == '.':
			if key[i-1] == '.' {
				return false
			}
		default:
			return false
		}
	}
	return true
}
