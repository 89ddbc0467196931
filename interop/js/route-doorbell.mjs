// zulip-js 2.1.0, unmodified, gets the message a herald route made of a Hue
// button press: the route acts as another Zulip user, the listener's queue
// receives it as any message.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const zulipInit = require("zulip-js");

const { HERALD_URL, ZULIP_EMAIL, ZULIP_KEY, ADMIN_KEY, HUE_BUTTON } = process.env;
const fail = (msg) => {
  console.error(msg);
  process.exit(1);
};
setTimeout(() => fail("timeout"), 30000).unref();

const zulip = await zulipInit({ username: ZULIP_EMAIL, apiKey: ZULIP_KEY, realm: HERALD_URL });
const reg = await zulip.queues.register({ event_types: ["message"] });
if (reg.result !== "success" || !reg.queue_id) fail("register: " + JSON.stringify(reg));

const res = await fetch(HERALD_URL + "/v1/hue/press", {
  method: "POST",
  headers: { Authorization: "Bearer " + ADMIN_KEY, "Content-Type": "application/json" },
  body: JSON.stringify({ button: HUE_BUTTON, action: "short" }),
});
if (!res.ok) fail("press: " + res.status + " " + (await res.text()));

let last = reg.last_event_id;
for (;;) {
  const got = await zulip.events.retrieve({ queue_id: reg.queue_id, last_event_id: last });
  if (got.result !== "success") fail("retrieve: " + JSON.stringify(got));
  for (const ev of got.events) {
    last = ev.id;
    if (ev.type !== "message") continue;
    const m = ev.message;
    if (m.display_recipient !== "home" || m.subject !== "doorbell") fail("unexpected message: " + JSON.stringify(m));
    console.log(JSON.stringify({ ok: true, content: m.content, sender: m.sender_email }));
    process.exit(0);
  }
}
