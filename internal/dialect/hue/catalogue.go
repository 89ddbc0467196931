package hue

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/google/uuid"
)

// product is a device herald can simulate, with the services the real
// one offers (model ids and archetypes as real bridges report them).
type product struct {
	Key         string `json:"product"`
	ModelID     string `json:"model_id"`
	ProductName string `json:"product_name"`
	Archetype   string `json:"archetype"`
	Software    string `json:"software_version"`
	Buttons     int    `json:"buttons,omitempty"`
	Rotary      bool   `json:"rotary,omitempty"`
	Light       string `json:"light,omitempty"` // "color" or "ambiance"
	Sensors     bool   `json:"sensors,omitempty"`
	Battery     bool   `json:"battery,omitempty"`
}

// catalogue lists the products, in the order GET /v1/hue/products shows them.
var catalogue = []product{
	{Key: "dimmer_switch", ModelID: "RWL022", ProductName: "Hue dimmer switch", Archetype: "unknown_archetype",
		Software: "2.44.0", Buttons: 4, Battery: true},
	{Key: "smart_button", ModelID: "ROM001", ProductName: "Hue Smart button", Archetype: "unknown_archetype",
		Software: "2.47.8", Buttons: 1, Battery: true},
	{Key: "tap_dial", ModelID: "RDM002", ProductName: "Hue tap dial switch", Archetype: "unknown_archetype",
		Software: "2.59.25", Buttons: 4, Rotary: true, Battery: true},
	{Key: "color_lamp", ModelID: "LCA001", ProductName: "Hue color lamp", Archetype: "sultan_bulb",
		Software: "1.104.2", Light: "color"},
	{Key: "white_ambiance", ModelID: "LTA001", ProductName: "Hue white ambiance", Archetype: "classic_bulb",
		Software: "1.104.2", Light: "ambiance"},
	{Key: "motion_sensor", ModelID: "SML001", ProductName: "Hue motion sensor", Archetype: "unknown_archetype",
		Software: "1.1.28573", Sensors: true, Battery: true},
}

func findProduct(key string) (product, bool) {
	i := slices.IndexFunc(catalogue, func(p product) bool { return p.Key == key })
	if i < 0 {
		return product{}, false
	}
	return catalogue[i], true
}

// listProducts handles GET /v1/hue/products.
func (a *API) listProducts(w http.ResponseWriter, r *http.Request) error {
	writeData(w, catalogue)
	return nil
}

// addDeviceRequest is the body of POST /v1/hue/devices.
type addDeviceRequest struct {
	Product string `json:"product"`
	Name    string `json:"name"`
}

// addDevice handles POST /v1/hue/devices: a device from the catalogue
// joins the bridge (and its home), with add events for each resource.
func (a *API) addDevice(w http.ResponseWriter, r *http.Request) error {
	var req addDeviceRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return fmt.Errorf("%w: body must be {\"product\",\"name\"}: %v", errBadRequest, err)
	}
	p, ok := findProduct(req.Product)
	if !ok {
		return fmt.Errorf("%w: unknown product %q (GET /v1/hue/products lists them)", errBadRequest, req.Product)
	}
	if req.Name == "" {
		req.Name = p.ProductName
	}
	if _, _, err := (fields{"name": mustJSON(req.Name)}).name("", "name", true); err != nil {
		return err
	}
	ctx := r.Context()
	res, err := a.buildDevice(ctx, p, req.Name)
	if err != nil {
		return err
	}
	t := a.begin()
	ids := make([]ref, 0, len(res))
	for _, o := range res {
		t.create(o)
		ids = append(ids, ref{RID: str(o, "id"), RType: str(o, "type")})
	}
	_, err = t.update(ctx, "bridge_home", a.bridge.Home, func(h object) error {
		h["children"] = append(withoutChildren(h, map[string]bool{ids[0].RID: true}),
			object{"rid": ids[0].RID, "rtype": "device"})
		return nil
	})
	if err == nil && p.Light != "" {
		err = a.recomputeGroups(ctx, t)
	}
	if err == nil {
		err = a.commit(ctx, t)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, envelope{Errors: []hueError{}, Data: ids})
	return nil
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// buildDevice makes the resources of a new device: the device first, then
// its services.
func (a *API) buildDevice(ctx context.Context, p product, name string) ([]object, error) {
	dev := uuid.NewString()
	owner := object{"rid": dev, "rtype": "device"}
	var services []object
	add := func(o object) {
		o["owner"] = owner
		services = append(services, o)
	}
	v1 := func(kind string) (string, error) {
		n, err := a.nextV1(ctx, kind)
		return "/" + kind + "/" + strconv.FormatUint(n, 10), err
	}
	var devV1 string
	if p.Light != "" {
		id, err := v1("lights")
		if err != nil {
			return nil, err
		}
		devV1 = id
		add(newLight(p, name, id))
	}
	if p.Buttons > 0 {
		id, err := v1("sensors")
		if err != nil {
			return nil, err
		}
		devV1 = id
		for c := 1; c <= p.Buttons; c++ {
			add(object{
				"id": uuid.NewString(), "id_v1": id, "type": "button",
				"metadata": object{"control_id": c},
				"button": object{
					"repeat_interval": 800,
					"event_values":    []any{"initial_press", "repeat", "short_release", "long_release", "long_press"},
				},
			})
		}
	}
	if p.Rotary {
		// The dial's state appears with its first turn, as a button's
		// button_report does with its first press.
		add(object{"id": uuid.NewString(), "id_v1": devV1, "type": "relative_rotary"})
	}
	if p.Sensors {
		for _, t := range []string{"motion", "temperature", "light_level"} {
			id, err := v1("sensors")
			if err != nil {
				return nil, err
			}
			if devV1 == "" {
				devV1 = id
			}
			add(newSensor(t, id))
		}
	}
	if p.Battery {
		add(object{"id": uuid.NewString(), "id_v1": devV1, "type": "device_power",
			"power_state": object{"battery_state": "normal", "battery_level": 100}})
	}
	var mac [4]byte
	rand.Read(mac[:])
	add(object{"id": uuid.NewString(), "id_v1": devV1, "type": "zigbee_connectivity", "status": "connected",
		"mac_address": fmt.Sprintf("00:17:88:01:%02x:%02x:%02x:%02x-0b", mac[0], mac[1], mac[2], mac[3])})

	refs := make([]any, 0, len(services))
	for _, s := range services {
		refs = append(refs, object{"rid": s["id"], "rtype": s["type"]})
	}
	archetype := p.Archetype
	device := object{
		"id": dev, "type": "device", "identify": object{},
		// The spec requires an owner of every device (DeviceGet extends
		// ResourceOwned; a real bridge sends none): the home it joins.
		"owner": object{"rid": a.bridge.Home, "rtype": "bridge_home"},
		"product_data": object{
			"model_id": p.ModelID, "manufacturer_name": manufacturer, "product_name": p.ProductName,
			"product_archetype": archetype, "certified": true, "software_version": p.Software,
		},
		"metadata": object{"name": name, "archetype": archetype},
		"services": refs,
	}
	if devV1 != "" {
		device["id_v1"] = devV1
	}
	out := []object{normalize(device).(object)}
	for _, s := range services {
		out = append(out, normalize(s).(object))
	}
	return out, nil
}

// newLight is a light service as a real lamp of kind p.Light reports it.
func newLight(p product, name, idv1 string) object {
	l := object{
		"id": uuid.NewString(), "id_v1": idv1, "type": "light", "service_id": 0,
		"metadata":  object{"name": name, "archetype": p.Archetype, "function": "mixed"},
		"identify":  object{},
		"mode":      "normal",
		"on":        object{"on": false},
		"dimming":   object{"brightness": 100.0, "min_dim_level": 0.2},
		"alert":     object{"action_values": []any{"breathe"}},
		"signaling": object{"signal_values": []any{"no_signal", "on_off"}},
		"dynamics": object{"status": "none", "status_values": []any{"none", "dynamic_palette"},
			"speed": 0.0, "speed_valid": false},
		"color_temperature": object{"mirek": 366, "mirek_valid": true,
			"mirek_schema": object{"mirek_minimum": 153, "mirek_maximum": 454}},
	}
	if p.Light == "color" {
		l["color_temperature"] = object{"mirek": 366, "mirek_valid": true,
			"mirek_schema": object{"mirek_minimum": 153, "mirek_maximum": 500}}
		l["color"] = object{
			"xy": object{"x": 0.4573, "y": 0.41},
			"gamut": object{"red": object{"x": 0.6915, "y": 0.3083}, "green": object{"x": 0.17, "y": 0.7},
				"blue": object{"x": 0.1532, "y": 0.0475}},
			"gamut_type": "C",
		}
		l["effects"] = object{"status": "no_effect", "status_values": []any{"no_effect", "candle", "fire"},
			"effect_values": []any{"no_effect", "candle", "fire"}}
	}
	return l
}

// newSensor is a motion, temperature or light_level service.
func newSensor(t, idv1 string) object {
	o := object{"id": uuid.NewString(), "id_v1": idv1, "type": t, "enabled": true}
	switch t {
	case "motion":
		o["motion"] = object{"motion": false, "motion_valid": true}
		o["sensitivity"] = object{"status": "set", "sensitivity": 2, "sensitivity_max": 4}
	case "temperature":
		o["temperature"] = object{"temperature": 20.0, "temperature_valid": true}
	case "light_level":
		// "light", not "light_level": LightLevelGet, and what a bridge sends.
		o["light"] = object{"light_level": 10000, "light_level_valid": true}
	}
	return o
}
