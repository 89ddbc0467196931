// The npm eventsource client, unmodified, on herald's Hue event stream
// across a restart of the herald it reads: the client reconnects by itself
// with Last-Event-ID. It prints {"open":n} at each (re)connection,
// {"first":n} at the first message of the n-th connection, and,
// once a light event with brightness STOP_BRIGHTNESS arrives, every Hue
// event id it got, in order: {"ok":true,"ids":[…],"opens":n}.
import { EventSource } from "eventsource";

const { HERALD_URL, HUE_KEY, STOP_BRIGHTNESS } = process.env;
const fail = (msg) => {
  console.error(msg);
  process.exit(1);
};
setTimeout(() => fail("timeout"), 90000).unref();

const es = new EventSource(HERALD_URL + "/eventstream/clip/v2", {
  fetch: (input, init) =>
    fetch(input, { ...init, headers: { ...init.headers, "hue-application-key": HUE_KEY } }),
});
const ids = [];
let opens = 0;
let told = 0;
// Errors are the restart: the client tries again on its own.
es.onerror = () => {};
es.onopen = () => {
  opens++;
  console.log(JSON.stringify({ open: opens }));
};
es.onmessage = (msg) => {
  const events = JSON.parse(msg.data);
  if (!Array.isArray(events)) fail("data is not an array: " + msg.data);
  if (told < opens) {
    told = opens;
    console.log(JSON.stringify({ first: opens }));
  }
  let stop = false;
  for (const ev of events) {
    ids.push(ev.id);
    for (const d of ev.data) {
      if (d.type === "light" && d.dimming && String(d.dimming.brightness) === STOP_BRIGHTNESS) stop = true;
    }
  }
  if (stop) {
    es.close();
    console.log(JSON.stringify({ ok: true, ids, opens }));
    process.exit(0);
  }
};
