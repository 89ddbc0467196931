package zulip

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"sync"
)

// pollAnswer is a poll's answer while it is built and written: its
// events (the shared encodings, or the heartbeat encoded in hb) and the
// body's bytes. Answers are reused (answers), so that a poll allocates
// neither its list of events, nor its heartbeat, nor its body.
type pollAnswer struct {
	evs  []json.RawMessage
	hb   [48]byte // a heartbeat: `{"id":` + an int64 + `,"type":"heartbeat"}`
	body []byte
}

// maxKeptAnswer bounds the body an answer keeps for reuse: a large one
// (a client far behind) is not held on to.
const maxKeptAnswer = 64 << 10

// answers are the pollAnswers not in use.
type answers struct{ pool sync.Pool }

func (as *answers) get() *pollAnswer {
	if pa, ok := as.pool.Get().(*pollAnswer); ok {
		return pa
	}
	return &pollAnswer{}
}

// put returns pa for reuse; what it refers to is let go.
func (as *answers) put(pa *pollAnswer) {
	clear(pa.evs)
	pa.evs = pa.evs[:0]
	pa.body = pa.body[:0]
	if cap(pa.body) > maxKeptAnswer {
		pa.body = nil
	}
	as.pool.Put(pa)
}

// heartbeat adds the heartbeat id to the answer (a heartbeat comes alone).
func (pa *pollAnswer) heartbeat(id int64) {
	pa.evs = append(pa.evs, appendHeartbeat(pa.hb[:0], id))
}

// heartbeat is Zulip's keep-alive event, as json.Marshal encodes
// {"type": "heartbeat", "id": id}.
func heartbeat(id int64) json.RawMessage {
	return appendHeartbeat(nil, id)
}

func appendHeartbeat(b []byte, id int64) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, id, 10)
	return append(b, `,"type":"heartbeat"}`...)
}

// events are the answer's events, [] for none (as JSON has it).
func (pa *pollAnswer) events() []json.RawMessage {
	if pa.evs == nil {
		return []json.RawMessage{}
	}
	return pa.evs
}

// write answers the poll: with the arguments it ignored if any.
func (pa *pollAnswer) write(w http.ResponseWriter, ignored []string) {
	if len(ignored) > 0 {
		writeSuccess(w, withIgnored(map[string]any{"events": pa.events()}, ignored))
		return
	}
	pa.body = appendEvents(pa.body, pa.evs) // empty: see put
	writeBody(w, pa.body)
}

// jsonType is the Content-Type of every answer, shared: a header's
// values are replaced (Set), never written into.
var jsonType = []string{"application/json"}

// writeBody writes a JSON answer's bytes, 200 OK.
func writeBody(w http.ResponseWriter, b []byte) {
	w.Header()["Content-Type"] = jsonType
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// writeEvents answers a poll as writeSuccess(map{"events": evs}) does,
// byte for byte, writing the events' shared encodings as they are instead
// of encoding the answer again.
func writeEvents(w http.ResponseWriter, evs []json.RawMessage) {
	writeBody(w, appendEvents(nil, evs))
}

// appendEvents appends the body of a poll's answer of evs to b.
func appendEvents(b []byte, evs []json.RawMessage) []byte {
	n := len(`{"events":[],"msg":"","result":"success"}`) + 1 + len(evs)
	for _, e := range evs {
		n += len(e)
	}
	b = slices.Grow(b, n)
	b = append(b, `{"events":[`...)
	for i, e := range evs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e...)
	}
	return append(b, `],"msg":"","result":"success"}`+"\n"...)
}
