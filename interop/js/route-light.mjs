// The npm eventsource client, unmodified, on herald's Hue event stream as a
// Hue app reads it: an RFID tag read (the Jetstream simulator) goes through a
// herald route to a Hue light PUT, and the light's update arrives here.
import { EventSource } from "eventsource";

const { HERALD_URL, HUE_KEY, ADMIN_KEY, HUE_LIGHT } = process.env;
const fail = (msg) => {
  console.error(msg);
  process.exit(1);
};
setTimeout(() => fail("timeout"), 30000).unref();

const es = new EventSource(HERALD_URL + "/eventstream/clip/v2", {
  fetch: (input, init) =>
    fetch(input, { ...init, headers: { ...init.headers, "hue-application-key": HUE_KEY } }),
});
es.onerror = (e) => fail("eventsource error: " + (e.message || e.code));
es.onopen = async () => {
  const res = await fetch(HERALD_URL + "/v1/jetstream/simulate", {
    method: "POST",
    headers: { Authorization: "Bearer " + ADMIN_KEY, "Content-Type": "application/json" },
    body: JSON.stringify({ device: "door-reader", objects: 1 }),
  });
  if (!res.ok) fail("simulate: " + res.status + " " + (await res.text()));
};
es.onmessage = (msg) => {
  for (const ev of JSON.parse(msg.data)) {
    for (const d of ev.data) {
      if (ev.type === "update" && d.type === "light" && d.id === HUE_LIGHT && d.on && d.on.on === true) {
        es.close();
        console.log(JSON.stringify({ ok: true, light: d.id, lastEventId: msg.lastEventId }));
        process.exit(0);
      }
    }
  }
};
