package hue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/herald-io/herald/internal/eventlog"
)

// What herald reports as the bridge's model and software.
const (
	bridgeModel     = "BSB002"
	bridgeArchetype = "bridge_v2"
	apiVersion      = "1.68.0"
	swVersion       = "1968096020"
	bridgeSoftware  = "1.68.1968096020"
	datastoreVer    = "172"
	manufacturer    = "Signify Netherlands B.V."
)

// bridgeKey holds the bridge record in the bucket.
const bridgeKey = "bridge"

// bridgeRecord is made once, on the first start of the first node, and
// names the bridge's own resources; every node reads the same one.
type bridgeRecord struct {
	BridgeID  string    `json:"bridge_id"` // 16 lower-case hex digits
	Bridge    string    `json:"bridge"`
	Device    string    `json:"device"`
	Zigbee    string    `json:"zigbee_connectivity"`
	Home      string    `json:"bridge_home"`
	HomeGroup string    `json:"home_grouped_light"`
	TimeZone  string    `json:"time_zone"`
	Name      string    `json:"name"`
	Created   time.Time `json:"created"`
}

// bootstrap returns the bridge record, creating it (and the bridge's
// resources) on first start. Create is a compare-and-set, so when nodes
// start together exactly one record wins and all use it. The resources
// are (re)created from the record if missing, so a start interrupted
// between the two steps is completed by the next one. They are the state
// a bridge has out of the box, the base its events fold onto: seeded at
// sequence 0, without add events, as a bridge's own resources exist before
// any client listens.
func (a *API) bootstrap(ctx context.Context) (bridgeRecord, error) {
	var rec bridgeRecord
	e, err := a.store.kv.Get(ctx, bridgeKey)
	switch {
	case err == nil:
		if err := json.Unmarshal(e.Value, &rec); err != nil {
			return rec, fmt.Errorf("decode bridge record: %w", err)
		}
	case errors.Is(err, eventlog.ErrKeyNotFound):
		var suffix [3]byte
		rand.Read(suffix[:])
		rec = bridgeRecord{
			BridgeID: "001788fffe" + hex.EncodeToString(suffix[:]),
			Bridge:   uuid.NewString(), Device: uuid.NewString(), Zigbee: uuid.NewString(),
			Home: uuid.NewString(), HomeGroup: uuid.NewString(),
			TimeZone: a.cfg.TimeZone, Name: a.cfg.Name, Created: a.cfg.Now().UTC(),
		}
		b, _ := json.Marshal(rec)
		if _, err := a.store.kv.Create(ctx, bridgeKey, b); errors.Is(err, eventlog.ErrConflict) {
			return a.bootstrap(ctx) // another node won; use its record
		} else if err != nil {
			return rec, fmt.Errorf("store bridge record: %w", err)
		}
	default:
		return rec, fmt.Errorf("read bridge record: %w", err)
	}
	for _, o := range bridgeResources(rec) {
		if err := a.store.seed(ctx, o); err != nil && !errors.Is(err, eventlog.ErrConflict) {
			return rec, err
		}
	}
	return rec, nil
}

// upgrade brings a bridge made by an older herald up to date, with update
// events like any change: the bridge device lists its services (the
// singletons came later) and every device has an owner.
func (a *API) upgrade(ctx context.Context) error {
	t := a.begin()
	services := bridgeResources(a.bridge)[1]["services"]
	if _, err := t.update(ctx, "device", a.bridge.Device, func(o object) error {
		o["services"] = services
		return nil
	}); err != nil {
		return err
	}
	devices, err := t.list(ctx, "device")
	if err != nil {
		return err
	}
	for _, d := range devices {
		if d["owner"] != nil {
			continue
		}
		if _, err := t.update(ctx, "device", str(d, "id"), func(o object) error {
			o["owner"] = object{"rid": a.bridge.Home, "rtype": "bridge_home"}
			return nil
		}); err != nil {
			return err
		}
	}
	return a.commit(ctx, t)
}

// singletonID is the id of a bridge service added after the record's
// fields were fixed: derived from the bridge id, so every node agrees.
func singletonID(rec bridgeRecord, rtype string) string {
	return uuid.NewSHA1(idNamespace, []byte(rec.BridgeID+"/"+rtype)).String()
}

// macFromBridgeID is the MAC address a bridge id is derived from (the
// EUI-64 with "fffe" in the middle), as aiohue computes it.
func macFromBridgeID(id string) string {
	id = strings.ToLower(id)
	if len(id) != 16 {
		return "00:17:88:00:00:00"
	}
	h := id[:6] + id[10:]
	parts := make([]string, 0, 6)
	for i := 0; i < 12; i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

// eui64 formats 16 hex digits as a Zigbee MAC address (8 colon-separated bytes).
func eui64(h string) string {
	if len(h) != 16 {
		return "00:17:88:ff:fe:00:00:00"
	}
	parts := make([]string, 0, 8)
	for i := 0; i < 16; i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

// bridgeResources are the resources a bridge has out of the box, the
// bridge device second: its own services (bridge, connectivity,
// entertainment, device discovery, HomeKit, Matter), the home with the
// group of all lights, and the geolocation. Each has the fields the
// openhue-api spec requires; the device's owner (required there, absent on
// a real bridge) is the home.
func bridgeResources(rec bridgeRecord) []object {
	owner := func(rid, rtype string) object { return object{"rid": rid, "rtype": rtype} }
	dev := owner(rec.Device, "device")
	ent, disc := singletonID(rec, "entertainment"), singletonID(rec, "zigbee_device_discovery")
	hk, mt := singletonID(rec, "homekit"), singletonID(rec, "matter")
	return []object{
		{
			"id": rec.Bridge, "type": "bridge", "owner": dev,
			"bridge_id": rec.BridgeID, "time_zone": object{"time_zone": rec.TimeZone},
		},
		{
			"id": rec.Device, "type": "device", "identify": object{},
			"owner": owner(rec.Home, "bridge_home"),
			"product_data": object{
				"model_id": bridgeModel, "manufacturer_name": manufacturer, "product_name": "Hue Bridge",
				"product_archetype": bridgeArchetype, "certified": true, "software_version": bridgeSoftware,
			},
			"metadata": object{"name": rec.Name, "archetype": bridgeArchetype},
			"services": []any{
				owner(rec.Bridge, "bridge"), owner(rec.Zigbee, "zigbee_connectivity"),
				owner(ent, "entertainment"), owner(disc, "zigbee_device_discovery"),
				owner(hk, "homekit"), owner(mt, "matter"),
			},
		},
		{
			"id": rec.Zigbee, "type": "zigbee_connectivity", "owner": dev,
			"status": "connected", "mac_address": eui64(rec.BridgeID),
		},
		{
			// The bridge proxies entertainment streams; it renders none.
			"id": ent, "type": "entertainment", "owner": dev,
			"renderer": false, "proxy": true, "equalizer": false, "max_streams": 1,
		},
		{"id": disc, "type": "zigbee_device_discovery", "owner": dev, "status": "ready"},
		{"id": hk, "type": "homekit", "owner": dev, "status": "unpaired"},
		{"id": mt, "type": "matter", "owner": dev, "has_qr_code": false, "max_fabrics": 16},
		{"id": singletonID(rec, "geolocation"), "type": "geolocation", "is_configured": false},
		{
			"id": rec.Home, "id_v1": "/groups/0", "type": "bridge_home",
			"children": []any{dev},
			"services": []any{owner(rec.HomeGroup, "grouped_light")},
		},
		{
			"id": rec.HomeGroup, "id_v1": "/groups/0", "type": "grouped_light",
			"owner": owner(rec.Home, "bridge_home"),
			"on":    object{"on": false}, "dimming": object{"brightness": 0.0},
			"alert":     object{"action_values": []any{"breathe"}},
			"signaling": object{"signal_values": []any{"no_signal", "on_off"}},
		},
	}
}

// publicConfig answers GET /api/config and GET /api/<anything>/config with
// the short config a bridge gives without a key; aiohue checks "bridgeid"
// in it to recognise a bridge.
// A mirrored bridge answers with the upstream's id and name.
func (a *API) publicConfig(w http.ResponseWriter, r *http.Request) {
	name, id := a.bridge.Name, a.bridge.BridgeID
	if m := a.mirroring(); m != nil {
		name, id = m.Name, m.BridgeID
	}
	writeJSON(w, http.StatusOK, shortConfig{
		Name: name, DatastoreVersion: datastoreVer, SWVersion: swVersion, APIVersion: apiVersion,
		MAC: macFromBridgeID(id), BridgeID: strings.ToUpper(id),
		FactoryNew: false, ModelID: bridgeModel, StarterKitID: "",
	})
}

// shortConfig is the v1 public configuration, in a bridge's field order.
type shortConfig struct {
	Name             string  `json:"name"`
	DatastoreVersion string  `json:"datastoreversion"`
	SWVersion        string  `json:"swversion"`
	APIVersion       string  `json:"apiversion"`
	MAC              string  `json:"mac"`
	BridgeID         string  `json:"bridgeid"`
	FactoryNew       bool    `json:"factorynew"`
	ReplacesBridgeID *string `json:"replacesbridgeid"`
	ModelID          string  `json:"modelid"`
	StarterKitID     string  `json:"starterkitid"`
}
