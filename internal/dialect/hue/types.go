package hue

import (
	"github.com/herald-io/herald/internal/dialect"
)

// resourceTypes are the CLIP v2 resource types with endpoints (openhue-api
// src/main.yaml) plus the remaining ResourceIdentifier rtypes. Types herald
// has no resources of answer an empty list, as a bridge without them does;
// the ones herald does not model are read-only (405 on writes).
var resourceTypes = map[string]bool{
	"device": true, "device_power": true, "light": true, "light_level": true, "motion": true,
	"grouped_light": true, "bridge": true, "bridge_home": true, "scene": true, "smart_scene": true,
	"room": true, "zone": true, "temperature": true, "button": true, "bell_button": true,
	"relative_rotary": true, "contact": true, "tamper": true, "camera_motion": true,
	"grouped_motion": true, "grouped_light_level": true, "convenience_area_motion": true,
	"security_area_motion": true, "motion_area_candidate": true, "motion_area_configuration": true,
	"zigbee_connectivity": true, "zgp_connectivity": true, "wifi_connectivity": true,
	"zigbee_device_discovery": true, "zigbee_bridge_connectivity": true, "homekit": true,
	"matter": true, "matter_fabric": true, "entertainment": true, "entertainment_configuration": true,
	"speaker": true, "behavior_script": true, "behavior_instance": true, "geofence": true,
	"geofence_client": true, "geolocation": true, "device_software_update": true,
	"service_group": true, "public_image": true, "auth_v1": true,
}

func knownType(t string) bool { return resourceTypes[t] }

// creatable types accept POST (and DELETE): clients make and remove them.
var creatable = map[string]bool{"geofence_client": true, "room": true, "zone": true}

// deletable types accept DELETE; removing a device removes its services.
var deletable = map[string]bool{"geofence_client": true, "room": true, "zone": true, "device": true}

// writable reports whether a type accepts PUT.
func writable(rtype string) bool {
	_, ok := validators[rtype]
	return ok
}

// itemMethods is what /clip/v2/resource/<rtype>/<id> allows.
func itemMethods(rtype string) string {
	m := "GET"
	if writable(rtype) {
		m += ", PUT"
	}
	if deletable[rtype] {
		m += ", DELETE"
	}
	return m
}

// listMethods is what /clip/v2/resource/<rtype> allows.
func listMethods(rtype string) string {
	if creatable[rtype] {
		return "GET, POST"
	}
	return "GET"
}

// notAllowed is a 405 with the methods the path does allow.
func notAllowed(allow string, err error) error {
	return &dialect.Problem{Kind: dialect.MethodNotAllowed, Code: dialect.MethodNotAllowed.String(),
		Allow: allow, Message: err.Error(), Err: err}
}
