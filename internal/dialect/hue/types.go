package hue

// resourceTypes are the CLIP v2 resource types with endpoints (openhue-api
// src/main.yaml) plus the remaining ResourceIdentifier rtypes. Types herald
// has no resources of answer an empty list, as a bridge without them does.
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
