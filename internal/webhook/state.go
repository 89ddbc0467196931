package webhook

import (
	"time"
)

// State is what an endpoint's job has learnt, stored under "state.<id>"
// and written by the job alone (the API creates and deletes it).
type State struct {
	// Epoch is the definition's epoch the state belongs to (see Endpoint).
	Epoch uint64 `json:"epoch"`
	// Position: every matching event up to here has been delivered.
	Position uint64 `json:"position"`
	// Failing is set when an event's last try failed: nothing more is
	// delivered until a PATCH or a replay starts a new epoch. The events
	// stay in the log.
	Failing      bool       `json:"failing"`
	FailingSince *time.Time `json:"failing_since,omitempty"`
	LastError    string     `json:"last_error,omitempty"`
	// Retries are the events in flight that failed, by sequence: how many
	// tries each has had and when the next is due, so another node (or
	// this one, restarted) goes on with the schedule where it was.
	Retries map[uint64]Retry `json:"retries,omitempty"`
	// Attempts are the last attempts, newest last (at most
	// Config.Attempts).
	Attempts []Attempt `json:"attempts,omitempty"`
}

// Retry is an event's place on the retry schedule.
type Retry struct {
	Tries int       `json:"tries"`
	Next  time.Time `json:"next"`
}

// Attempt is one request to an endpoint.
type Attempt struct {
	Time      time.Time `json:"time"`
	Seq       uint64    `json:"seq"`
	WebhookID string    `json:"webhook_id"`
	Try       int       `json:"try"`              // 1 for the first
	Status    int       `json:"status,omitempty"` // 0: no answer (see Error)
	LatencyMS float64   `json:"latency_ms"`
	Error     string    `json:"error,omitempty"`    // why there was no answer
	Response  string    `json:"response,omitempty"` // the answer's first bytes
}

// Outcome is an attempt's outcome, the label of the deliveries metric.
func (a *Attempt) Outcome() string {
	switch {
	case a.Status >= 200 && a.Status < 300:
		return "delivered"
	case a.Status != 0:
		return "refused" // the receiver answered something else
	}
	return "error" // no answer: refused connection, timeout, address policy
}

// Status is an endpoint's state as its API shows it.
type Status struct {
	Position     uint64     `json:"position"`
	Failing      bool       `json:"failing"`
	FailingSince *time.Time `json:"failing_since,omitempty"`
	LastError    string     `json:"last_error,omitempty"`
	Retrying     int        `json:"retrying"` // events waiting for their next try
}

func (s *State) status() Status {
	return Status{Position: s.Position, Failing: s.Failing, FailingSince: s.FailingSince, LastError: s.LastError,
		Retrying: len(s.Retries)}
}
