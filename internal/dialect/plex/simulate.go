package plex

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/eventlog"
)

// Bounds of a simulation: it runs inside one request.
const (
	MaxScanItems   = 100000
	MaxPlayUpdates = 10000
	MaxPlayLength  = 24 * time.Hour
	MaxInterval    = time.Minute
	maxAppend      = 1000 // drafts per append
)

// Duration is a time.Duration written as Go text ("90m", "250ms") in JSON.
type Duration time.Duration

// MarshalJSON writes d as text.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads text such as "90m".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"90m\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// ScanRequest is the body of POST /v1/plex/simulate/scan. Zero fields get
// their defaults.
type ScanRequest struct {
	Section   string `json:"section,omitempty"`   // section name (default "Movies")
	SectionID string `json:"sectionID,omitempty"` // default "1"
	Kind      string `json:"kind,omitempty"`      // movie, show or artist (default movie)
	Items     int    `json:"items,omitempty"`     // default 100, at most MaxScanItems
	// Interval is the wall-clock pause between steps (one item each); zero
	// publishes the whole scan at once, in batches.
	Interval Duration `json:"interval,omitempty"`
}

// PlayRequest is the body of POST /v1/plex/simulate/play.
type PlayRequest struct {
	Title      string   `json:"title,omitempty"`      // gives the rating key when RatingKey is empty
	Duration   Duration `json:"duration,omitempty"`   // media length (default 90m)
	Updates    int      `json:"updates,omitempty"`    // playing states between start and stop (default 10)
	SessionKey string   `json:"sessionKey,omitempty"` // default "1"
	RatingKey  string   `json:"ratingKey,omitempty"`
	Client     string   `json:"client,omitempty"` // clientIdentifier (default a new UUID)
	DirectPlay bool     `json:"directPlay,omitempty"`
	Pause      bool     `json:"pause,omitempty"` // pause halfway and resume
	Interval   Duration `json:"interval,omitempty"`
}

// PreferenceRequest is the body of POST /v1/plex/simulate/preference.
type PreferenceRequest struct {
	ID       string `json:"id"`
	Value    string `json:"value"`
	Type     string `json:"type,omitempty"` // bool, int, double or text (default text)
	Default  string `json:"default,omitempty"`
	Label    string `json:"label,omitempty"`
	Summary  string `json:"summary,omitempty"`
	Group    string `json:"group,omitempty"` // default "general"
	Hidden   bool   `json:"hidden,omitempty"`
	Advanced bool   `json:"advanced,omitempty"`
}

// SimulateResponse says what a simulation published.
type SimulateResponse struct {
	Events     int    `json:"events"`
	First      uint64 `json:"first"` // sequence of the first event
	Last       uint64 `json:"last"`
	Activity   string `json:"activity,omitempty"` // a scan's activity uuid
	RatingKey  string `json:"ratingKey,omitempty"`
	SessionKey string `json:"sessionKey,omitempty"`
}

var errBadSimulation = errors.New("bad simulation")

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errBadSimulation}, args...)...)
}

// decodeBody reads a request body; an empty one means all defaults.
func decodeBody(r *http.Request, v any) error {
	if err := decodeStrict(r, v); err != nil && !errors.Is(err, io.EOF) {
		return bad("body: %v", err)
	}
	return nil
}

func checkInterval(d Duration) error {
	if d < 0 || time.Duration(d) > MaxInterval {
		return bad("interval must be between 0 and %s", MaxInterval)
	}
	return nil
}

// simulateScan handles POST /v1/plex/simulate/scan.
func (a *API) simulateScan(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	var req ScanRequest
	err := decodeBody(r, &req)
	req.Section = cmp.Or(req.Section, "Movies")
	req.SectionID = cmp.Or(req.SectionID, "1")
	req.Kind = cmp.Or(req.Kind, "movie")
	if req.Items == 0 {
		req.Items = 100
	}
	switch {
	case err != nil:
	case req.Items < 0 || req.Items > MaxScanItems:
		err = bad("items must be between 1 and %d", MaxScanItems)
	case mediaTypes[req.Kind] == 0:
		err = bad("kind must be movie, show or artist")
	default:
		err = checkInterval(req.Interval)
	}
	if err != nil {
		return dialect.Errorf(dialect.BadRequest, "%v", err)
	}
	id := uuid.NewString()
	steps := scanSteps(req.SectionID, req.Section, req.Kind, req.Items, 10000, id, a.clock())
	return a.run(w, r, steps, time.Duration(req.Interval), SimulateResponse{Activity: id})
}

// simulatePlay handles POST /v1/plex/simulate/play.
func (a *API) simulatePlay(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	var req PlayRequest
	err := decodeBody(r, &req)
	if req.Duration == 0 {
		req.Duration = Duration(90 * time.Minute)
	}
	if req.Updates == 0 {
		req.Updates = 10
	}
	req.Title = cmp.Or(req.Title, "Big Buck Bunny")
	req.SessionKey = cmp.Or(req.SessionKey, "1")
	req.RatingKey = cmp.Or(req.RatingKey, ratingKeyFor(req.Title))
	req.Client = cmp.Or(req.Client, uuid.NewString())
	switch {
	case err != nil:
	case req.Duration < 0 || time.Duration(req.Duration) > MaxPlayLength:
		err = bad("duration must be between 0 and %s", MaxPlayLength)
	case req.Updates < 0 || req.Updates > MaxPlayUpdates:
		err = bad("updates must be between 1 and %d", MaxPlayUpdates)
	default:
		err = checkInterval(req.Interval)
	}
	if err != nil {
		return dialect.Errorf(dialect.BadRequest, "%v", err)
	}
	steps := playSteps(playSpec{
		SessionKey: req.SessionKey, RatingKey: req.RatingKey, Client: req.Client,
		TranscodeKey: strings.ReplaceAll(uuid.NewString(), "-", "")[:24],
		Duration:     time.Duration(req.Duration), Updates: req.Updates, Pause: req.Pause, Transcode: !req.DirectPlay,
	})
	return a.run(w, r, steps, time.Duration(req.Interval), SimulateResponse{RatingKey: req.RatingKey, SessionKey: req.SessionKey})
}

// simulatePreference handles POST /v1/plex/simulate/preference.
func (a *API) simulatePreference(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	var req PreferenceRequest
	err := decodeBody(r, &req)
	var d eventlog.Draft
	if err == nil && req.ID == "" {
		err = bad("id is required")
	}
	if err == nil {
		d, err = preferenceDraft(setting{ID: req.ID, Label: cmp.Or(req.Label, req.ID), Summary: req.Summary,
			Type: cmp.Or(req.Type, "text"), Hidden: req.Hidden, Advanced: req.Advanced, Group: cmp.Or(req.Group, "general"),
		}, req.Value, req.Default)
		if err != nil {
			err = bad("%v", err)
		}
	}
	if err != nil {
		return dialect.Errorf(dialect.BadRequest, "%v", err)
	}
	return a.run(w, r, [][]eventlog.Draft{{d}}, 0, SimulateResponse{})
}

// run publishes a simulation's steps through the log, like any producer,
// and answers once all are stored. With an interval it pauses between
// steps, so the request lasts as long as the simulation; it stops when the
// client goes away or the server shuts down.
func (a *API) run(w http.ResponseWriter, r *http.Request, steps [][]eventlog.Draft, interval time.Duration, res SimulateResponse) error {
	ctx, cancel := a.core.Deliver.StreamContext(r)
	defer cancel()
	err := publishSteps(ctx, steps, interval, func(ds []eventlog.Draft) error {
		acks, err := a.core.Append(ctx, Dialect, ds)
		if err != nil {
			return err
		}
		if res.First == 0 {
			res.First = acks[0].Seq
		}
		res.Last = acks[len(acks)-1].Seq
		res.Events += len(acks)
		return nil
	})
	if err != nil {
		a.core.Logger.Warn("plex: simulation stopped", "events", res.Events, "err", err)
		return &dialect.Problem{Kind: dialect.Unavailable, Code: "unavailable", RetryAfter: time.Second, Err: err,
			Message: fmt.Sprintf("simulation stopped after %d events; retry shortly", res.Events)}
	}
	dialect.WriteJSON(w, http.StatusOK, res)
	return nil
}

// publishSteps hands steps to appendFn: one step per call, interval apart,
// or, without an interval, as few calls of at most maxAppend drafts as the
// steps fill.
func publishSteps(ctx context.Context, steps [][]eventlog.Draft, interval time.Duration, appendFn func([]eventlog.Draft) error) error {
	var batch []eventlog.Draft
	flush := func() error {
		for len(batch) > 0 {
			n := min(len(batch), maxAppend)
			if err := appendFn(batch[:n]); err != nil {
				return err
			}
			batch = batch[n:]
		}
		batch = nil
		return nil
	}
	var t *time.Timer
	for i, step := range steps {
		if interval > 0 && i > 0 {
			if t == nil {
				t = time.NewTimer(interval)
				defer t.Stop()
			} else {
				t.Reset(interval)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
			}
		}
		batch = append(batch, step...)
		if interval > 0 || len(batch) >= maxAppend {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}
