// zulip-js 2.1.0, unmodified, against herald's Zulip dialect: register a
// queue (with and without event_types), send a stream message, read it back
// through events.retrieve and through callOnEachEvent. With UPSTREAM_URL,
// UPSTREAM_EMAIL and UPSTREAM_KEY (herald in front of a Zulip server, the
// identity mirrored by a zulip connector), the first message is sent on the
// upstream by another user, and arrives through herald.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const zulipInit = require("zulip-js");

const { HERALD_URL, ZULIP_EMAIL, ZULIP_KEY, UPSTREAM_URL, UPSTREAM_EMAIL, UPSTREAM_KEY } = process.env;
const fail = (msg) => {
  console.error(msg);
  process.exit(1);
};
setTimeout(() => fail("timeout"), 20000).unref();

const zulip = await zulipInit({ username: ZULIP_EMAIL, apiKey: ZULIP_KEY, realm: HERALD_URL });
const settings = await zulip.server.settings();
if (!settings.zulip_version) fail("server_settings without zulip_version: " + JSON.stringify(settings));

const reg = await zulip.queues.register({ event_types: ["message"] });
if (reg.result !== "success" || !reg.queue_id) fail("register: " + JSON.stringify(reg));

const sender = UPSTREAM_URL
  ? await zulipInit({ username: UPSTREAM_EMAIL, apiKey: UPSTREAM_KEY, realm: UPSTREAM_URL })
  : zulip;
const sent = await sender.messages.send({ to: "general", type: "stream", topic: "greetings", content: "hello from zulip-js" });
if (sent.result !== "success") fail("send: " + JSON.stringify(sent));

const got = await zulip.events.retrieve({ queue_id: reg.queue_id, last_event_id: -1 });
const msgs = (got.events || []).filter((e) => e.type === "message");
if (got.result !== "success" || msgs.length !== 1 || msgs[0].message.content.indexOf("hello from zulip-js") < 0) {
  fail("retrieve: " + JSON.stringify(got));
}

// callOnEachEvent registers its own queue with event_types null (all).
let seen = 0;
const done = new Promise((resolve) => {
  zulip.callOnEachEvent((event) => {
    if (event.type === "message" && event.message.content.indexOf("second") >= 0) {
      seen++;
      resolve();
    }
  });
});
setTimeout(() => {
  zulip.messages.send({ to: "general", type: "stream", topic: "greetings", content: "second" });
}, 300);
await done;

const del = await zulip.queues.deregister({ queue_id: reg.queue_id });
if (del.result !== "success") fail("deregister: " + JSON.stringify(del));
const gone = await zulip.events.retrieve({ queue_id: reg.queue_id, last_event_id: -1 });
if (gone.code !== "BAD_EVENT_QUEUE_ID") fail("retrieve after deregister: " + JSON.stringify(gone));

console.log(JSON.stringify({ ok: true, queue: reg.queue_id, callOnEachEvent: seen }));
process.exit(0);
