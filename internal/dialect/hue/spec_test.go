package hue

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// specTypes are the types with paths in openhue-api src/main.yaml
// (openhue/openhue-api@5548942).
var specTypes = strings.Fields(`device device_power light light_level motion grouped_light bridge
	bridge_home scene smart_scene room zone temperature button bell_button relative_rotary contact tamper
	camera_motion grouped_motion grouped_light_level convenience_area_motion security_area_motion
	motion_area_candidate motion_area_configuration zigbee_connectivity zgp_connectivity
	wifi_connectivity zigbee_device_discovery homekit matter matter_fabric entertainment
	entertainment_configuration speaker behavior_script behavior_instance geofence_client geolocation
	device_software_update service_group`)

// specRequired are the fields the spec's <Type>Get schemas require
// (openhue-api@5548942 src/<type>/schemas), as dotted paths. A nested
// field is required when its parent is present; a parent that is itself
// required is listed too. The types not listed extend ResourceOwned (id,
// type, owner) and require nothing more. Button's control_id is what
// aiohue requires of a button (its dataclass fails without it).
var specRequired = map[string][]string{
	"bridge": {"bridge_id", "time_zone", "time_zone.time_zone"},
	"device": {"identify", "services", "metadata", "metadata.name", "metadata.archetype", "product_data",
		"product_data.model_id", "product_data.manufacturer_name", "product_data.product_name",
		"product_data.product_archetype", "product_data.certified", "product_data.software_version"},
	"light": {"identify", "service_id", "mode", "on", "on.on", "metadata", "metadata.name", "metadata.archetype",
		"metadata.function", "color.xy.x", "color.xy.y", "color.gamut.red.x", "color.gamut.red.y",
		"color.gamut.green.x", "color.gamut.green.y", "color.gamut.blue.x", "color.gamut.blue.y"},
	"grouped_light":   {"on.on", "dimming.brightness"},
	"button":          {"metadata", "metadata.control_id"},
	"light_level":     {"enabled", "light", "light.light_level", "light.light_level_valid"},
	"motion":          {"enabled", "motion", "motion.motion", "motion.motion_valid"},
	"temperature":     {"enabled", "temperature", "temperature.temperature", "temperature.temperature_valid"},
	"device_power":    {"power_state"},
	"room":            {"children", "services", "metadata", "metadata.name", "metadata.archetype"},
	"zone":            {"children", "services", "metadata", "metadata.name", "metadata.archetype"}, // = RoomGet
	"bridge_home":     {"children", "services"},
	"geolocation":     {},
	"geofence_client": {},
}

// unowned types extend Resource, not ResourceOwned: no owner required.
var unowned = map[string]bool{"bridge_home": true, "room": true, "zone": true, "geolocation": true,
	"geofence_client": true, "behavior_script": true, "behavior_instance": true,
	"entertainment_configuration": true, "service_group": true}

// field returns the value at a dotted path; parent reports whether the
// object holding it is there (a nested field is required only then).
func field(o object, path string) (v any, ok, parent bool) {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		if o = sub(o, p); o == nil {
			return nil, false, false
		}
	}
	v, ok = o[parts[len(parts)-1]]
	return v, ok, true
}

// fullBridge is a bridge with one of everything the catalogue and the
// clients make, and a reading from every sensor.
func fullBridge(t *testing.T, cfg Config) (*bridge, map[string]map[string][]string) {
	b := newBridge(t, cfg)
	devs := map[string]map[string][]string{}
	for _, p := range catalogue {
		devs[p.Key] = b.addDevice(p.Key, p.Key)
	}
	b.adminDo("/v1/hue/sensor", `{"device":"motion_sensor","motion":true,"temperature":21.5,"light_level":12000,"battery":15}`)
	b.adminDo("/v1/hue/rotate", `{"device":"tap_dial","steps":30,"repeats":1}`)
	b.adminDo("/v1/hue/press", `{"button":"tap_dial","control_id":1}`)
	r := b.hue("POST", "/clip/v2/resource/room", `{"metadata":{"name":"Living","archetype":"living_room"},"children":[{"rid":"`+devs["color_lamp"]["device"][0]+`","rtype":"device"}]}`)
	if r.status != 200 {
		t.Fatalf("room: %d %s", r.status, r.body)
	}
	r = b.hue("POST", "/clip/v2/resource/zone", `{"metadata":{"name":"Reading","archetype":"reading"},"children":[{"rid":"`+devs["white_ambiance"]["light"][0]+`","rtype":"light"}]}`)
	if r.status != 200 {
		t.Fatalf("zone: %d %s", r.status, r.body)
	}
	b.hue("POST", "/clip/v2/resource/geofence_client", `{"name":"phone","is_at_home":true}`)
	return b, devs
}

// TestSpecRequiredFields: every resource of a full bridge has the fields
// the openhue-api spec requires of its type.
func TestSpecRequiredFields(t *testing.T) {
	b, _ := fullBridge(t, Config{})
	all := b.resources("")
	seen := map[string]int{}
	for _, o := range all {
		rtype := str(o, "type")
		seen[rtype]++
		req := append([]string{"id", "type"}, specRequired[rtype]...)
		if !unowned[rtype] {
			req = append(req, "owner.rid", "owner.rtype")
		}
		for _, path := range req {
			if v, ok, parent := field(o, path); parent && (!ok || v == nil) {
				t.Errorf("%s %s: required %s missing", rtype, str(o, "id"), path)
			}
		}
		if !uuidRE.MatchString(str(o, "id")) {
			t.Errorf("%s: id %q", rtype, str(o, "id"))
		}
	}
	// The types with state, and the singletons every bridge has.
	for _, rtype := range strings.Fields(`device button light grouped_light room zone bridge bridge_home motion
		temperature light_level device_power relative_rotary zigbee_connectivity geofence_client geolocation
		homekit matter entertainment zigbee_device_discovery`) {
		if seen[rtype] == 0 {
			t.Errorf("no %s resource", rtype)
		}
	}
	for _, rtype := range []string{"bridge", "bridge_home", "geolocation", "homekit", "matter"} {
		if seen[rtype] != 1 {
			t.Errorf("%d %s resources", seen[rtype], rtype)
		}
	}
}

// TestSpecTypesAnswer: every type of the spec lists (possibly nothing);
// the ones herald does not write answer 405 with Allow; unknown types 404.
func TestSpecTypesAnswer(t *testing.T) {
	b := newBridge(t, Config{})
	const missing = "00000000-0000-4000-8000-000000000000"
	for _, rtype := range specTypes {
		t.Run(rtype, func(t *testing.T) {
			if !knownType(rtype) {
				t.Fatal("not a known type")
			}
			r := b.hue("GET", "/clip/v2/resource/"+rtype, "")
			var env struct {
				Errors []hueError
				Data   []object
			}
			r.decode(t, &env)
			if r.status != 200 || env.Data == nil || len(env.Errors) != 0 {
				t.Fatalf("GET: %d %s", r.status, r.body)
			}
			for _, tc := range []struct {
				method, path string
				allowed      bool
				allow        string
			}{
				{"POST", "/clip/v2/resource/" + rtype, creatable[rtype], listMethods(rtype)},
				{"PUT", "/clip/v2/resource/" + rtype + "/" + missing, writable(rtype), itemMethods(rtype)},
				{"DELETE", "/clip/v2/resource/" + rtype + "/" + missing, deletable[rtype], itemMethods(rtype)},
			} {
				r := b.hue(tc.method, tc.path, `{}`)
				switch {
				case tc.allowed && r.status == http.StatusMethodNotAllowed:
					t.Errorf("%s: 405", tc.method)
				case !tc.allowed && (r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != tc.allow):
					t.Errorf("%s: %d Allow %q, want 405 Allow %q", tc.method, r.status, r.header.Get("Allow"), tc.allow)
				case !tc.allowed:
					var env envelope
					r.decode(t, &env)
					if len(env.Errors) != 1 || env.Errors[0].Description == "" {
						t.Errorf("%s: body %s", tc.method, r.body)
					}
				}
			}
		})
	}
	for _, tc := range []struct{ method, path string }{
		{"GET", "/clip/v2/resource/nonsense"},
		{"POST", "/clip/v2/resource/nonsense"},
		{"GET", "/clip/v2/resource/nonsense/" + missing},
		{"PUT", "/clip/v2/resource/nonsense/" + missing},
		{"DELETE", "/clip/v2/resource/nonsense/" + missing},
	} {
		r := b.hue(tc.method, tc.path, `{}`)
		if r.status != 404 {
			t.Errorf("%s %s: %d", tc.method, tc.path, r.status)
		}
		golden(t, "not_found.json", r.body)
	}
	r := b.hue("PUT", "/clip/v2/resource/scene/"+missing, `{}`)
	golden(t, "read_only_put.json", r.body)
}

// TestGoldenSingletons: the services every bridge has, as GET answers them.
func TestGoldenSingletons(t *testing.T) {
	b := newBridge(t, Config{Name: "Hue Bridge", TimeZone: "Europe/Amsterdam"})
	var out []json.RawMessage
	for _, rtype := range []string{"device", "entertainment", "geolocation", "homekit", "matter", "zigbee_device_discovery"} {
		out = append(out, b.hue("GET", "/clip/v2/resource/"+rtype, "").body)
	}
	body, _ := json.Marshal(out)
	golden(t, "singletons_get.json", anonymise(t, body))
	// Derived ids: the same bridge id gives the same ids on every node.
	if singletonID(b.api.bridge, "homekit") != singletonID(b.api.bridge, "homekit") ||
		singletonID(b.api.bridge, "homekit") == singletonID(b.api.bridge, "matter") {
		t.Fatal("singleton ids")
	}
}

// TestGoldenSensors: the sensor services after readings, and the update
// events the readings send.
func TestGoldenSensors(t *testing.T) {
	now := mustTime("2026-03-01T08:00:00Z")
	b := newBridge(t, Config{Now: func() time.Time { return now }})
	ids := b.addDevice("motion_sensor", "Hall")
	stream := b.aiohueStream(t.Context())
	b.adminDo("/v1/hue/sensor", `{"device":"Hall","motion":true,"temperature":19.25,"light_level":15000}`)
	items, _ := collect(t, stream, 3)
	body, _ := json.Marshal(items)
	golden(t, "sensor_events.json", anonymise(t, body))
	for _, rtype := range []string{"motion", "temperature", "light_level"} {
		r := b.hue("GET", "/clip/v2/resource/"+rtype+"/"+ids[rtype][0], "")
		golden(t, rtype+"_get.json", anonymise(t, r.body))
	}
}
