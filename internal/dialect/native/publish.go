package native

import (
	"fmt"
	"io"
	"net/http"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/eventlog"
)

// publish handles POST /v1/events: it answers 201 only after the log
// acknowledged every event durably.
func (a *API) publish(w http.ResponseWriter, r *http.Request, key *auth.Key) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeErr(w, fmt.Errorf("%w: reading body: %w", errBadRequest, err))
		return
	}
	drafts, err := parsePublish(body)
	if err != nil {
		writeErr(w, err)
		return
	}
	for _, d := range drafts {
		if !key.CanPublish(d.Topic) {
			writeError(w, http.StatusForbidden, "forbidden", "this key may not publish to "+d.Topic)
			return
		}
	}
	acks, err := a.core.Append(r.Context(), "native", drafts)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, struct {
		Events []eventlog.Ack `json:"events"`
	}{acks})
}
