package native

import (
	"io"
	"net/http"

	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/eventlog"
)

// publish handles POST /v1/events: it answers 201 only after the log
// acknowledged every event durably. The core checks the key's publish
// scope and the dialects' namespaces for every event.
func (a *API) publish(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return readBodyErr(err)
	}
	drafts, err := parsePublish(body)
	if err != nil {
		return err
	}
	acks, err := a.core.Append(r.Context(), "native", drafts)
	if err != nil {
		return err
	}
	dialect.WriteJSON(w, http.StatusCreated, struct {
		Events []eventlog.Ack `json:"events"`
	}{acks})
	return nil
}
