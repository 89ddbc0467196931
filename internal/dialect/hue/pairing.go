package hue

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/herald-io/herald/internal/auth"
)

// pairRequest is the v1 body of POST /api.
type pairRequest struct {
	DeviceType        *string `json:"devicetype"`
	GenerateClientKey bool    `json:"generateclientkey"`
}

// pair handles POST /api: within LinkWindow of a link-button press, and
// for the press's first PairingsPerPress applications, it creates an
// application key (a herald key of the hue dialect) and answers it as the
// username; otherwise error 101, as a bridge does outside its window.
// Answers are v1 style: HTTP 200 and a one-element list.
func (a *API) pair(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		writeV1Error(w, 2, "", "body contains invalid JSON")
		return
	}
	var req pairRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeV1Error(w, 2, "", "body contains invalid JSON")
		return
	}
	if req.DeviceType == nil {
		writeV1Error(w, 6, "", "parameter, devicetype, not available")
		return
	}
	name := strings.TrimSpace(*req.DeviceType)
	if name == "" || len(name) > 40 || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		writeV1Error(w, 7, "/devicetype", "invalid value, "+*req.DeviceType+", for parameter, devicetype")
		return
	}
	// Refused from memory when it must be (no engine call: pairing needs
	// no key, so anyone may flood it), else one pairing of the press taken.
	now := a.cfg.Now()
	if !a.button.open(now) {
		writeV1Error(w, 101, "", "link button not pressed")
		return
	}
	ok, err := a.button.claim(r.Context(), now)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if !ok {
		writeV1Error(w, 101, "", "link button not pressed")
		return
	}
	key, token, err := a.core.Auth.Create(r.Context(), auth.Spec{
		Name: name, Dialect: dialectName,
		Publish: []string{"hue.>"}, Subscribe: []string{"hue.>"},
		Meta: map[string]string{"devicetype": name},
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.core.Logger.Info("hue application paired", "key", key.ID, "devicetype", name)
	success := map[string]string{"username": token}
	if req.GenerateClientKey {
		// The client key is for Entertainment (DTLS streaming), which
		// herald does not offer; it is random and not stored.
		var ck [16]byte
		rand.Read(ck[:])
		success["clientkey"] = strings.ToUpper(hex.EncodeToString(ck[:]))
	}
	writeJSON(w, http.StatusOK, []map[string]map[string]string{{"success": success}})
}

// apiOther answers other methods on /api the v1 way.
func (a *API) apiOther(w http.ResponseWriter, r *http.Request) {
	writeV1Error(w, 4, "/", "method, "+r.Method+", not available for resource, /")
}

// link handles POST /v1/hue/link (admin): press the link button.
func (a *API) link(w http.ResponseWriter, r *http.Request) error {
	now := a.cfg.Now().UTC()
	if err := a.button.pressAt(r.Context(), now); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"pressed": now, "until": now.Add(a.cfg.LinkWindow)})
	return nil
}
