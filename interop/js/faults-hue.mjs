// The npm eventsource client, unmodified, on herald's Hue event stream
// under a cut_stream fault rule: the stream is cut after every 3 events,
// and the client's own reconnection (with Last-Event-ID) must resume
// exactly: every button report once, in order, none lost or repeated.
import { EventSource } from "eventsource";
import { admin, deadline, fail } from "./faults-lib.mjs";

const { HERALD_URL, HUE_KEY, HUE_BUTTON } = process.env;
deadline(50000);

const PRESSES = 5; // each a short press: initial_press, then short_release
const rule = await admin("POST", "/v1/faults", { dialect: "hue", action: "cut_stream", after_events: 3 });

const es = new EventSource(HERALD_URL + "/eventstream/clip/v2", {
  fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, "hue-application-key": HUE_KEY } }),
});
let opens = 0;
const ids = []; // the Hue events' own ids
const reports = [];
es.onerror = () => {}; // a cut: the client reconnects by itself
es.onopen = async () => {
  if (++opens > 1) return;
  for (let i = 0; i < PRESSES; i++) await admin("POST", "/v1/hue/press", { button: HUE_BUTTON, action: "short" });
};
es.onmessage = async (msg) => {
  for (const ev of JSON.parse(msg.data)) {
    for (const d of ev.data) {
      if (d.type !== "button" || !d.button || !d.button.button_report) continue;
      ids.push(ev.id);
      reports.push(d.button.button_report.event);
    }
  }
  if (reports.length < 2 * PRESSES) return;
  es.close();
  const want = Array.from({ length: PRESSES }, () => ["initial_press", "short_release"]).flat();
  if (reports.join(",") !== want.join(",")) fail("button reports: " + reports.join(","));
  if (new Set(ids).size !== ids.length) fail("an event came twice: " + ids.join(","));
  if (opens < 4) fail("the stream was cut only " + (opens - 1) + " times");
  await admin("DELETE", "/v1/faults/" + rule.id);
  console.log(JSON.stringify({ ok: true, reports: reports.length, reconnections: opens - 1 }));
  process.exit(0);
};
