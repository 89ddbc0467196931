package terso

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/eventlog"
)

// SimulateRequest asks the simulator for one round of device events.
type SimulateRequest struct {
	Device string `json:"device"`
	// Heartbeat adds a HeartbeatEvent.
	Heartbeat bool `json:"heartbeat"`
	// Sensors adds a SensorReadingEvent with one reading per sensor name.
	Sensors []string `json:"sensors"`
	// Objects adds an ObjectEvent observing that many tags.
	Objects int `json:"objects"`
	// Aggregate adds an AggregateEvent: tags added to and removed from the
	// device since its last scan.
	Aggregate bool `json:"aggregate"`
}

// SimulatedEvent is one appended simulator event.
type SimulatedEvent struct {
	Seq     uint64 `json:"seq"`
	EventID string `json:"event_id"`
	Type    string `json:"type"`
	Topic   string `json:"topic"`
}

const (
	maxSensors = 32
	maxObjects = 1000
)

// simulate handles POST /v1/jetstream/simulate: 201 with the appended events.
func (a *API) simulate(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	var req SimulateRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	drafts, err := simulated(req, time.Now(), rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())))
	if err != nil {
		return err
	}
	out, err := a.publish(r.Context(), drafts)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, struct {
		Events []SimulatedEvent `json:"events"`
	}{out})
	return nil
}

// publish appends drafts; an event's EventId is its herald id, so a retried
// simulator round is not stored twice.
func (a *API) publish(ctx context.Context, drafts []eventlog.Draft) ([]SimulatedEvent, error) {
	acks, err := a.core.Append(ctx, Dialect, drafts)
	if err != nil {
		return nil, err
	}
	out := make([]SimulatedEvent, len(acks))
	for i, ack := range acks {
		out[i] = SimulatedEvent{Seq: ack.Seq, EventID: ack.ID, Type: drafts[i].Type, Topic: drafts[i].Topic}
	}
	return out, nil
}

// Device event payloads, field for field as the .NET SDK's DTOs name them
// and in the order the documentation prints them.
type (
	sensorReading struct {
		Name        string `json:"Name"`
		Value       string `json:"Value"`
		ReadingTime string `json:"ReadingTime"`
	}
	deviceHeader struct {
		Device       string `json:"Device"`
		ReceivedTime string `json:"ReceivedTime"`
		Type         string `json:"Type"`
		EventID      string `json:"EventId"`
		EventTime    string `json:"EventTime"`
		Version      int    `json:"Version"`
	}
	heartbeatEvent struct {
		deviceHeader
	}
	sensorReadingEvent struct {
		SensorReadings []sensorReading `json:"SensorReadings"`
		deviceHeader
	}
	objectEvent struct {
		Observe []string `json:"Observe"`
		deviceHeader
	}
	aggregateEvent struct {
		PassRfid string   `json:"PassRfid"`
		Adds     []string `json:"Adds"`
		Removes  []string `json:"Removes"`
		deviceHeader
	}
)

// simulated builds one round of realistic device events: the device saw
// them a few seconds before herald received them, as a real reader's
// report lags its scan.
func simulated(req SimulateRequest, now time.Time, rng *rand.Rand) ([]eventlog.Draft, error) {
	if err := validDevice(req.Device); err != nil {
		return nil, invalid("device", err.Error())
	}
	if len(req.Sensors) > maxSensors {
		return nil, invalid("sensors", fmt.Sprintf("At most %d sensors.", maxSensors))
	}
	if req.Objects < 0 || req.Objects > maxObjects {
		return nil, invalid("objects", fmt.Sprintf("Use 0 to %d tags.", maxObjects))
	}
	for _, s := range req.Sensors {
		if s == "" || len(s) > 64 {
			return nil, invalid("sensors", "A sensor name is 1 to 64 characters.")
		}
	}
	received := now.UTC().Truncate(time.Second)
	seen := received.Add(-time.Duration(1+rng.IntN(4)) * time.Second)
	header := func(typ string) deviceHeader {
		return deviceHeader{Device: req.Device, ReceivedTime: stamp(received), Type: typ,
			EventID: uuid.NewString(), EventTime: stamp(seen), Version: deviceVersion}
	}
	var evs []any
	if req.Heartbeat {
		evs = append(evs, heartbeatEvent{header("HeartbeatEvent")})
	}
	if len(req.Sensors) > 0 {
		e := sensorReadingEvent{deviceHeader: header("SensorReadingEvent")}
		for _, name := range req.Sensors {
			e.SensorReadings = append(e.SensorReadings, sensorReading{Name: name,
				Value: sensorValue(name, rng), ReadingTime: stamp(seen)})
		}
		evs = append(evs, e)
	}
	if req.Objects > 0 {
		e := objectEvent{deviceHeader: header("ObjectEvent"), Observe: make([]string, req.Objects)}
		for i := range e.Observe {
			e.Observe[i] = epc(rng)
		}
		evs = append(evs, e)
	}
	if req.Aggregate {
		e := aggregateEvent{deviceHeader: header("AggregateEvent"), PassRfid: "",
			Adds: make([]string, 1+rng.IntN(3)), Removes: make([]string, rng.IntN(3))}
		for i := range e.Adds {
			e.Adds[i] = epc(rng)
		}
		for i := range e.Removes {
			e.Removes[i] = epc(rng)
		}
		evs = append(evs, e)
	}
	if len(evs) == 0 {
		return nil, invalid("request", "Ask for at least one event: heartbeat, sensors, objects or aggregate.")
	}
	drafts := make([]eventlog.Draft, len(evs))
	for i, e := range evs {
		data, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("jetstream: simulate: %w", err)
		}
		var h struct{ Type, EventId string }
		_ = json.Unmarshal(data, &h)
		drafts[i] = eventlog.Draft{ID: h.EventId, Topic: Topic(req.Device, h.Type), Type: h.Type, Data: data}
	}
	return drafts, nil
}

// sensorValue is a plausible reading: a refrigerated cabinet's temperature
// in °C, a relative humidity in %, or else a small number.
func sensorValue(name string, rng *rand.Rand) string {
	switch n := strings.ToLower(name); {
	case strings.Contains(n, "temp"):
		return strconv.Itoa(-20 + rng.IntN(28))
	case strings.Contains(n, "humid"):
		return strconv.Itoa(30 + rng.IntN(40))
	default:
		return strconv.Itoa(rng.IntN(100))
	}
}

// epc returns a random 96-bit EPC (SGTIN-96 header 0x30) as 24 hex digits.
func epc(rng *rand.Rand) string {
	return fmt.Sprintf("30%06X%016X", rng.Uint32()&0xFFFFFF, rng.Uint64())
}
