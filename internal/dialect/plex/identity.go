package plex

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"

	"github.com/herald-io/herald/internal/dialect"
)

// attr is one attribute of a MediaContainer. Plex answers XML by default
// and JSON when asked; XML writes booleans as 0/1, JSON as true/false.
type attr struct {
	name  string
	value any // string, int64 or bool
}

// root handles GET /: the server's MediaContainer, which python-plexapi's
// PlexServer reads (machineIdentifier, version, friendlyName…) before it
// opens the notification listener.
func (a *API) root(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	if h := a.fallbackFor(); h != nil {
		h.ServeHTTP(w, r)
		return nil
	}
	writeContainer(w, r, []attr{
		{"size", int64(0)},
		{"allowCameraUpload", false},
		{"allowChannelAccess", false},
		{"allowMediaDeletion", false},
		{"allowSharing", false},
		{"allowSync", false},
		{"allowTuners", false},
		{"backgroundProcessing", false},
		{"certificate", false},
		{"companionProxy", false},
		{"eventStream", true},
		{"friendlyName", a.cfg.FriendlyName},
		{"hubSearch", false},
		{"livetv", int64(0)},
		{"machineIdentifier", a.cfg.MachineIdentifier},
		{"multiuser", false},
		{"myPlex", false},
		{"myPlexMappingState", "unknown"},
		{"myPlexSigninState", "none"},
		{"myPlexSubscription", false},
		{"myPlexUsername", ""},
		{"platform", "herald"},
		{"platformVersion", ""},
		{"pluginHost", false},
		{"pushNotifications", false},
		{"readOnlyLibraries", false},
		{"transcoderActiveVideoSessions", int64(0)},
		{"transcoderAudio", false},
		{"transcoderVideo", false},
		{"updatedAt", a.clock().Unix()},
		{"updater", false},
		{"version", a.cfg.Version},
		{"voiceSearch", false},
	})
	return nil
}

// identity handles GET /identity, which Plex Media Server answers without a
// token: clients use it to find which server is at an address.
func (a *API) identity(w http.ResponseWriter, r *http.Request) {
	if h := a.fallbackFor(); h != nil {
		h.ServeHTTP(w, r)
		return
	}
	writeContainer(w, r, []attr{
		{"size", int64(0)},
		{"apiVersion", "1.1.1"},
		{"claimed", false},
		{"machineIdentifier", a.cfg.MachineIdentifier},
		{"version", a.cfg.Version},
	})
}

// wantsJSON reports whether the client asked for JSON (Plex's
// "Accept: application/json"); XML is the default, as on Plex.
func wantsJSON(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		if strings.Contains(v, "application/json") {
			return true
		}
	}
	return false
}

// writeContainer answers an empty MediaContainer with attrs, in XML or JSON.
func writeContainer(w http.ResponseWriter, r *http.Request, attrs []attr) {
	var b bytes.Buffer
	if wantsJSON(r) {
		b.WriteString(`{"MediaContainer":{`)
		for i, at := range attrs {
			if i > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(at.name)
			v, _ := json.Marshal(at.value)
			b.Write(k)
			b.WriteByte(':')
			b.Write(v)
		}
		b.WriteString("}}\n")
		w.Header().Set("Content-Type", "application/json")
	} else {
		b.WriteString(xml.Header)
		b.WriteString("<MediaContainer")
		for _, at := range attrs {
			b.WriteByte(' ')
			b.WriteString(at.name)
			b.WriteString(`="`)
			var s string
			switch v := at.value.(type) {
			case string:
				s = v
			case int64:
				s = strconv.FormatInt(v, 10)
			case bool:
				s = "0"
				if v {
					s = "1"
				}
			}
			xml.EscapeText(&b, []byte(s))
			b.WriteByte('"')
		}
		b.WriteString(">\n</MediaContainer>\n")
		w.Header().Set("Content-Type", "text/xml;charset=utf-8")
	}
	w.Header().Set("X-Plex-Protocol", "1.0")
	w.WriteHeader(http.StatusOK)
	w.Write(b.Bytes())
}
