package hue

import (
	"slices"
	"testing"
)

// TestCatalogue: each product joins with the services the real device
// has, owned by it, listed in its services, and the device joins the home.
func TestCatalogue(t *testing.T) {
	b := newBridge(t, Config{})
	r := b.do("GET", "/v1/hue/products", "", "Authorization: Bearer "+b.admin)
	var list struct{ Data []product }
	r.decode(t, &list)
	if r.status != 200 || len(list.Data) != len(catalogue) {
		t.Fatalf("products: %d %s", r.status, r.body)
	}
	for _, tc := range []struct {
		product, model string
		services       map[string]int
		check          func(t *testing.T, res map[string][]object)
	}{
		{"dimmer_switch", "RWL022", map[string]int{"button": 4, "device_power": 1, "zigbee_connectivity": 1}, nil},
		{"smart_button", "ROM001", map[string]int{"button": 1, "device_power": 1, "zigbee_connectivity": 1}, nil},
		{"tap_dial", "RDM002", map[string]int{"button": 4, "relative_rotary": 1, "device_power": 1, "zigbee_connectivity": 1}, nil},
		{"color_lamp", "LCA001", map[string]int{"light": 1, "zigbee_connectivity": 1}, func(t *testing.T, res map[string][]object) {
			l := res["light"][0]
			if sub(l, "color") == nil || str(sub(l, "color"), "gamut_type") != "C" || sub(l, "color_temperature") == nil {
				t.Errorf("color lamp light: %v", l)
			}
		}},
		{"white_ambiance", "LTA001", map[string]int{"light": 1, "zigbee_connectivity": 1}, func(t *testing.T, res map[string][]object) {
			l := res["light"][0]
			if sub(l, "color") != nil || sub(l, "color_temperature") == nil || sub(l, "dimming") == nil {
				t.Errorf("white ambiance light: %v", l)
			}
		}},
		{"motion_sensor", "SML001", map[string]int{"motion": 1, "temperature": 1, "light_level": 1, "device_power": 1, "zigbee_connectivity": 1}, nil},
	} {
		t.Run(tc.product, func(t *testing.T) {
			ids := b.addDevice(tc.product, "My "+tc.product)
			dev, err := b.api.store.get(t.Context(), "device", ids["device"][0])
			if err != nil {
				t.Fatal(err)
			}
			if pd := sub(dev, "product_data"); pd["model_id"] != tc.model || sub(dev, "metadata")["name"] != "My "+tc.product {
				t.Errorf("device %v", dev)
			}
			res := map[string][]object{}
			for _, s := range refs(dev, "services") {
				o, err := b.api.store.get(t.Context(), s.RType, s.RID)
				if err != nil {
					t.Fatalf("service %v: %v", s, err)
				}
				if owner := sub(o, "owner"); owner["rid"] != str(dev, "id") || owner["rtype"] != "device" {
					t.Errorf("%s owner %v", s.RType, owner)
				}
				res[s.RType] = append(res[s.RType], o)
			}
			got := map[string]int{}
			for k, v := range res {
				got[k] = len(v)
			}
			for k, n := range tc.services {
				if got[k] != n {
					t.Errorf("%d %s services, want %d (%v)", got[k], k, n, got)
				}
			}
			if len(got) != len(tc.services) {
				t.Errorf("services %v, want %v", got, tc.services)
			}
			var controls []int
			for _, btn := range res["button"] {
				c, _ := number(sub(btn, "metadata"), "control_id")
				controls = append(controls, int(c))
			}
			slices.Sort(controls)
			for i, c := range controls {
				if c != i+1 {
					t.Errorf("control ids %v", controls)
				}
			}
			if tc.check != nil {
				tc.check(t, res)
			}
			home, _ := b.api.store.get(t.Context(), "bridge_home", b.api.bridge.Home)
			if !slices.Contains(refs(home, "children"), ref{RID: str(dev, "id"), RType: "device"}) {
				t.Errorf("not in the home: %v", home["children"])
			}
		})
	}
	for _, tc := range []struct {
		body   string
		status int
	}{
		{`{"product":"toaster"}`, 400},
		{`{"product":"color_lamp","name":"123456789012345678901234567890123"}`, 400},
		{`{"product":"color_lamp","colour":"red"}`, 400},
		{`{"product":"color_lamp"}`, 201}, // named after the product
	} {
		if r := b.do("POST", "/v1/hue/devices", tc.body, "Authorization: Bearer "+b.admin); r.status != tc.status {
			t.Errorf("%s: %d %s", tc.body, r.status, r.body)
		}
	}
}

// GET /v1/hue/resources lists the bridge's resources to an admin key (the
// console's Hue panel), as GET /clip/v2/resource does to an application.
func TestAdminResources(t *testing.T) {
	b := newBridge(t, Config{})
	ids := b.addDevice("dimmer_switch", "Hall")
	r := b.do("GET", "/v1/hue/resources", "", "Authorization: Bearer "+b.admin)
	var list struct{ Data []object }
	r.decode(t, &list)
	if r.status != 200 {
		t.Fatalf("GET /v1/hue/resources: %d %s", r.status, r.body)
	}
	buttons := 0
	for _, o := range list.Data {
		if str(o, "type") == "button" && slices.Contains(ids["button"], str(o, "id")) {
			buttons++
		}
	}
	if buttons != 4 {
		t.Errorf("listed %d of the dimmer's 4 buttons: %s", buttons, r.body)
	}
	if r := b.do("GET", "/v1/hue/resources", ""); r.status != 401 {
		t.Errorf("without a key: %d, want 401", r.status)
	}
}
