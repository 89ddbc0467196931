package plex

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
)

// The element objects the simulator publishes, fields in Plex's order.

type playSessionState struct {
	SessionKey       string `json:"sessionKey"`
	ClientIdentifier string `json:"clientIdentifier"`
	GUID             string `json:"guid"`
	RatingKey        string `json:"ratingKey"`
	URL              string `json:"url"`
	Key              string `json:"key"`
	ViewOffset       int64  `json:"viewOffset"`
	PlayQueueItemID  int64  `json:"playQueueItemID"`
	State            string `json:"state"`
	TranscodeSession string `json:"transcodeSession,omitempty"`
}

type transcodeSession struct {
	Key           string  `json:"key"`
	Throttled     bool    `json:"throttled"`
	Complete      bool    `json:"complete"`
	Progress      float64 `json:"progress"`
	Speed         float64 `json:"speed"`
	Error         bool    `json:"error"`
	Duration      int64   `json:"duration"`
	Remaining     int64   `json:"remaining"`
	Context       string  `json:"context"`
	VideoDecision string  `json:"videoDecision"`
	AudioDecision string  `json:"audioDecision"`
	Protocol      string  `json:"protocol"`
	Container     string  `json:"container"`
}

type activityNotification struct {
	Event    string   `json:"event"`
	UUID     string   `json:"uuid"`
	Activity activity `json:"Activity"`
}

type activity struct {
	UUID        string          `json:"uuid"`
	Type        string          `json:"type"`
	Cancellable bool            `json:"cancellable"`
	UserID      int             `json:"userID"`
	Title       string          `json:"title"`
	Subtitle    string          `json:"subtitle"`
	Progress    int             `json:"progress"`
	Context     activityContext `json:"Context"`
}

type activityContext struct {
	Key string `json:"key"`
}

type timelineEntry struct {
	Identifier    string `json:"identifier"`
	SectionID     string `json:"sectionID"`
	ItemID        string `json:"itemID"`
	Type          int    `json:"type"`
	Title         string `json:"title"`
	State         int    `json:"state"`
	MetadataState string `json:"metadataState,omitempty"`
	UpdatedAt     int64  `json:"updatedAt"`
}

type setting struct {
	ID       string `json:"id"`
	Label    string `json:"label"`
	Summary  string `json:"summary"`
	Type     string `json:"type"`
	Default  any    `json:"default"`
	Value    any    `json:"value"`
	Hidden   bool   `json:"hidden"`
	Advanced bool   `json:"advanced"`
	Group    string `json:"group"`
}

// Timeline states (python-plexapi's alert.py).
const (
	timelineCreated   = 0
	timelineProcessed = 5
)

// mediaTypes are the timeline "type" numbers of the items a section holds.
var mediaTypes = map[string]int{"movie": 1, "show": 4, "artist": 10}

// notificationDraft wraps v in its element, as Plex's EventSource sends it.
func notificationDraft(typ string, v any) eventlog.Draft {
	inner, err := json.Marshal(map[string]any{Element(typ): v})
	if err != nil {
		panic(fmt.Sprintf("plex: encode %s: %v", typ, err)) // the element types above always encode
	}
	return eventlog.Draft{Topic: TopicPrefix + typ, Type: typ, Data: inner}
}

// scanSteps is a library scan of n items: the activity starts, each item's
// timeline entry is created and then processed while the activity reports
// its progress (once per whole percent), and the activity ends. Each step
// is what a scanner would emit at one moment.
func scanSteps(sectionID, section, kind string, n int, firstItem int, uuid string, now time.Time) [][]eventlog.Draft {
	act := activityNotification{Event: "started", UUID: uuid, Activity: activity{
		UUID: uuid, Type: "library.update.section", Cancellable: true, UserID: 1,
		Title: "Scanning " + section, Context: activityContext{Key: "/library/sections/" + sectionID},
	}}
	steps := [][]eventlog.Draft{{notificationDraft("activity", act)}}
	act.Event = "updated"
	for i := range n {
		title := fmt.Sprintf("%s %d", section, i+1)
		entry := timelineEntry{Identifier: "com.plexapp.plugins.library", SectionID: sectionID,
			ItemID: strconv.Itoa(firstItem + i), Type: mediaTypes[kind], Title: title,
			State: timelineCreated, MetadataState: "created", UpdatedAt: now.Unix()}
		step := []eventlog.Draft{notificationDraft("timeline", entry)}
		entry.State, entry.MetadataState = timelineProcessed, "processed"
		step = append(step, notificationDraft("timeline", entry))
		if pct := (i + 1) * 100 / n; pct != act.Activity.Progress && i+1 < n {
			act.Activity.Progress, act.Activity.Subtitle = pct, title
			step = append(step, notificationDraft("activity", act))
		}
		steps = append(steps, step)
	}
	act.Event, act.Activity.Progress, act.Activity.Subtitle = "ended", 100, ""
	return append(steps, []eventlog.Draft{notificationDraft("activity", act)})
}

// ratingKeyFor gives a title a stable rating key, so repeated simulations
// of one title look like the same library item.
func ratingKeyFor(title string) string {
	h := fnv.New32a()
	h.Write([]byte(title))
	return strconv.FormatUint(uint64(h.Sum32()%900000+100000), 10)
}

// playSpec describes a simulated playback.
type playSpec struct {
	SessionKey, RatingKey, Client, TranscodeKey string
	Duration                                    time.Duration
	Updates                                     int
	Pause                                       bool // pause halfway, then resume
	Transcode                                   bool
}

// playSteps is one playback: buffering at 0, Updates playing states with an
// advancing viewOffset (and transcode progress ahead of it), an optional
// pause halfway, and stopped at the end.
func playSteps(p playSpec) [][]eventlog.Draft {
	dur := p.Duration.Milliseconds()
	state := playSessionState{SessionKey: p.SessionKey, ClientIdentifier: p.Client, RatingKey: p.RatingKey,
		Key: "/library/metadata/" + p.RatingKey, PlayQueueItemID: 1, State: "buffering"}
	tc := transcodeSession{Key: "/transcode/sessions/" + p.TranscodeKey, Duration: dur, Remaining: dur / 1000,
		Context: "streaming", VideoDecision: "transcode", AudioDecision: "copy", Protocol: "dash", Container: "mp4"}
	first := []eventlog.Draft{}
	if p.Transcode {
		state.TranscodeSession = p.TranscodeKey
		first = append(first, notificationDraft("transcodeSession.start", tc))
	}
	steps := [][]eventlog.Draft{append(first, notificationDraft("playing", state))}
	for k := range p.Updates {
		var step []eventlog.Draft
		state.State, state.ViewOffset = "playing", dur*int64(k)/int64(p.Updates)
		step = append(step, notificationDraft("playing", state))
		if p.Transcode {
			// The transcoder runs ahead of playback, at 1.5x.
			done := min(float64(k+1)*150/float64(p.Updates), 100)
			tc.Progress, tc.Speed = float64(int(done*10))/10, 1.5
			tc.Remaining = int64(float64(dur) * (100 - done) / 100 / 1500)
			tc.Complete = done >= 100
			step = append(step, notificationDraft("transcodeSession.update", tc))
		}
		if p.Pause && k == p.Updates/2 {
			state.State = "paused"
			step = append(step, notificationDraft("playing", state))
		}
		steps = append(steps, step)
	}
	state.State, state.ViewOffset = "stopped", dur
	last := []eventlog.Draft{notificationDraft("playing", state)}
	if p.Transcode {
		tc.Progress, tc.Complete, tc.Remaining, tc.Speed = 100, true, 0, 0
		last = append(last, notificationDraft("transcodeSession.end", tc))
	}
	return append(steps, last)
}

// preferenceDraft is one changed server setting. The value (and default,
// which is the value when empty) is typed by the setting's type, as Plex
// sends it: bool, int, double or text.
func preferenceDraft(s setting, value, def string) (eventlog.Draft, error) {
	v, err := typedValue(s.Type, value)
	if err != nil {
		return eventlog.Draft{}, err
	}
	s.Value, s.Default = v, v
	if def != "" {
		if s.Default, err = typedValue(s.Type, def); err != nil {
			return eventlog.Draft{}, fmt.Errorf("default: %w", err)
		}
	}
	return notificationDraft("preference", s), nil
}

func typedValue(typ, raw string) (any, error) {
	switch typ {
	case "bool":
		v, err := strconv.ParseBool(raw)
		if err != nil {
			return nil, fmt.Errorf("value %q is not a bool", raw)
		}
		return v, nil
	case "int":
		v, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("value %q is not an int", raw)
		}
		return v, nil
	case "double":
		v, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return nil, fmt.Errorf("value %q is not a double", raw)
		}
		return v, nil
	case "text":
		return raw, nil
	}
	return nil, fmt.Errorf("type %q is not one of bool, int, double, text", typ)
}
