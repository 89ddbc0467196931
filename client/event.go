package client

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"
)

// MaxPublish is the most events one Publish call may carry; the request
// body is also limited to 1 MiB.
const MaxPublish = 1000

// Event is one entry of herald's log.
type Event struct {
	Seq   uint64          `json:"seq"`   // position in the log: strictly increasing, never reused
	ID    string          `json:"id"`    // UUID unless the publisher chose one
	Time  time.Time       `json:"time"`  // when the log accepted it
	Topic string          `json:"topic"` // dot-separated, e.g. "app.door.front"
	Type  string          `json:"type"`  // the event's type, e.g. "opened"
	Data  json.RawMessage `json:"data"`  // the payload, JSON
}

// Draft is an event to publish.
type Draft struct {
	Topic string `json:"topic"`
	// Type defaults to "event" on the server.
	Type string `json:"type,omitempty"`
	// Data must be valid JSON; empty means null.
	Data json.RawMessage `json:"data,omitempty"`
	// ID, if set, makes publishing idempotent: the server stores an ID
	// it has seen recently (within minutes) only once, so a retry after an
	// unanswered request cannot duplicate the event. See NewID.
	ID string `json:"id,omitempty"`
}

// Ack confirms that one draft was durably appended.
type Ack struct {
	Seq uint64 `json:"seq"`
	ID  string `json:"id"`
	// Time is when the log accepted the event; for a duplicate, the stored
	// event's, or zero if it is no longer stored (the size limit removed
	// it while the server still remembered its ID).
	Time time.Time `json:"time"`
	// Duplicate reports that the ID was already in the log, at Seq: this
	// publish stored nothing new.
	Duplicate bool `json:"duplicate,omitempty"`
}

// NewID returns a random (version 4) UUID for Draft.ID, so that a publish
// can be retried safely.
func NewID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand documents it)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
