// Package eventlog is herald's durable, ordered event log and its small
// key-value store for state. It is the only package that knows NATS: the log
// is one JetStream stream (embedded in-process by default, or an external
// cluster by URL), and state lives in JetStream KV buckets with
// compare-and-set, so any herald node can serve any client.
package eventlog

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Event is one entry of the log.
type Event struct {
	Seq   uint64          `json:"seq"`   // position in the log, assigned on append, never reused
	ID    string          `json:"id"`    // UUID unless the publisher chose one
	Time  time.Time       `json:"time"`  // when herald accepted it
	Topic string          `json:"topic"` // dot-separated, dialect first
	Type  string          `json:"type"`  // the dialect's event type
	Data  json.RawMessage `json:"data"`  // payload, already in its dialect's shape
}

// Draft is an event before it is appended.
type Draft struct {
	ID    string // optional: a repeated ID within the dedupe window is not stored twice
	Topic string
	Type  string
	Data  json.RawMessage
}

// Ack confirms one appended draft.
type Ack struct {
	Seq uint64 `json:"seq"`
	ID  string `json:"id"`
	// Time is when the log accepted the event; for a duplicate, the stored
	// event's, or zero if that event is no longer stored (the size limit
	// removed it while the engine still remembered its ID).
	Time      time.Time `json:"time"`
	Duplicate bool      `json:"duplicate,omitempty"` // the ID was already in the log at Seq
}

// Sentinel errors callers branch on.
var (
	// ErrExpired is wrapped by *ExpiredError: a read position is older than retention.
	ErrExpired = errors.New("position expired")
	// ErrUnavailable means the engine cannot be reached or did not answer in time.
	ErrUnavailable = errors.New("event log unavailable")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("event log closed")
	// ErrAhead is wrapped by *AheadError: a position is past the log's end.
	ErrAhead = errors.New("position ahead of the log")
)

// ExpiredError reports that events after a position were removed by retention.
// Earliest is the oldest sequence still stored; a reader that accepts the gap
// resumes after Earliest-1.
type ExpiredError struct {
	After    uint64
	Earliest uint64
}

func (e *ExpiredError) Error() string {
	return fmt.Sprintf("position %d expired: earliest stored event is %d", e.After, e.Earliest)
}

// Unwrap makes errors.Is(err, ErrExpired) true.
func (e *ExpiredError) Unwrap() error { return ErrExpired }

// AheadError reports a position past the log's last event: the reader names
// events this log never had (it was wiped or replaced). Waiting would
// deliver events it already holds under lower numbers as if they were new,
// so the reader is told instead; it may start again after Last.
type AheadError struct {
	After uint64
	Last  uint64
}

func (e *AheadError) Error() string {
	return fmt.Sprintf("position %d is past the end of the log: its last event is %d", e.After, e.Last)
}

// Unwrap makes errors.Is(err, ErrAhead) true.
func (e *AheadError) Unwrap() error { return ErrAhead }
