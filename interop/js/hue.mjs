// The npm eventsource client, unmodified, on herald's Hue event stream the
// way Hue apps use it: the hue-application-key header, then a button press
// (made through herald's admin endpoint) must arrive as initial_press and
// short_release, each data line a JSON array of Hue events.
// PRESS_URL and PRESS_ADMIN_KEY name another herald to press on (the upstream
// of a hue connector on HERALD_URL); by default the press is made on HERALD_URL.
import { EventSource } from "eventsource";

const { HERALD_URL, HUE_KEY, ADMIN_KEY, HUE_BUTTON } = process.env;
const PRESS_URL = process.env.PRESS_URL || HERALD_URL;
const PRESS_ADMIN_KEY = process.env.PRESS_ADMIN_KEY || ADMIN_KEY;
const fail = (msg) => {
  console.error(msg);
  process.exit(1);
};
setTimeout(() => fail("timeout"), 20000).unref();

const es = new EventSource(HERALD_URL + "/eventstream/clip/v2", {
  fetch: (input, init) =>
    fetch(input, { ...init, headers: { ...init.headers, "hue-application-key": HUE_KEY } }),
});
const seen = [];
es.onerror = (e) => fail("eventsource error: " + (e.message || e.code));
es.onopen = async () => {
  const res = await fetch(PRESS_URL + "/v1/hue/press", {
    method: "POST",
    headers: { Authorization: "Bearer " + PRESS_ADMIN_KEY, "Content-Type": "application/json" },
    body: JSON.stringify({ button: HUE_BUTTON, action: "short" }),
  });
  if (!res.ok) fail("press: " + res.status + " " + (await res.text()));
};
es.onmessage = (msg) => {
  const events = JSON.parse(msg.data);
  if (!Array.isArray(events)) fail("data is not an array: " + msg.data);
  if (!/^\d+:\d+$/.test(msg.lastEventId)) fail("event id is not <ts>:<n>: " + msg.lastEventId);
  for (const ev of events) {
    for (const d of ev.data) {
      if (d.type === "button" && d.button && d.button.button_report) seen.push(d.button.button_report.event);
    }
  }
  if (seen.length >= 2) {
    es.close();
    if (seen[0] !== "initial_press" || seen[1] !== "short_release") fail("button events: " + seen.join(","));
    console.log(JSON.stringify({ ok: true, events: seen, lastEventId: msg.lastEventId }));
    process.exit(0);
  }
};
