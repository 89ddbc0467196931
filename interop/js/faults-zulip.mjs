// zulip-js 2.1.0, unmodified, under an expire_queue fault rule. zulip-js
// leaves re-registering to the application (callOnEachEvent polls the dead
// queue forever), so this script does what Zulip's docs tell an app to do
// on BAD_EVENT_QUEUE_ID: re-initialize itself, i.e. register a new queue.
// The poll waiting when the rule is made must get the error at once, the
// old queue must be gone for good, and the new one must go on.
import { createRequire } from "node:module";
import { admin, deadline, fail } from "./faults-lib.mjs";

const require = createRequire(import.meta.url);
const zulipInit = require("zulip-js");

const { HERALD_URL, ZULIP_EMAIL, ZULIP_KEY } = process.env;
deadline(30000);

const zulip = await zulipInit({ username: ZULIP_EMAIL, apiKey: ZULIP_KEY, realm: HERALD_URL });
const send = async (content) => {
  const sent = await zulip.messages.send({ to: "general", type: "stream", topic: "faults", content });
  if (sent.result !== "success") fail("send: " + JSON.stringify(sent));
};

// The application: a queue and its position, registered again when the
// server says the queue is gone.
let queue, last;
let registrations = 0;
const registerQueue = async () => {
  const reg = await zulip.queues.register({ event_types: ["message"] });
  if (reg.result !== "success") fail("register: " + JSON.stringify(reg));
  [queue, last] = [reg.queue_id, reg.last_event_id];
  registrations++;
};
// poll returns the messages of one poll, registering again on BAD_EVENT_QUEUE_ID.
const poll = async () => {
  const got = await zulip.events.retrieve({ queue_id: queue, last_event_id: last });
  if (got.result === "error") {
    if (got.code !== "BAD_EVENT_QUEUE_ID") fail("poll: " + JSON.stringify(got));
    return { expired: got };
  }
  for (const e of got.events) last = Math.max(last, e.id);
  return { messages: got.events.filter((e) => e.type === "message").map((e) => e.message.content) };
};

await registerQueue();
const first = queue;
await send("before the fault");
const before = await poll();
if (!before.messages || !before.messages.join().includes("before the fault")) fail("first poll: " + JSON.stringify(before));

const waiting = poll(); // a long-poll, waiting for the next event
await new Promise((r) => setTimeout(r, 300));
const rule = await admin("POST", "/v1/faults", { action: "expire_queue", queue_id: first });
const expired = await waiting;
if (!expired.expired || expired.expired.queue_id !== first || expired.expired.msg !== "Bad event queue id: " + first) {
  fail("the waiting poll: " + JSON.stringify(expired));
}
await registerQueue();
if (queue === first) fail("registered the same queue again");
await send("after the fault");
const after = await poll();
if (!after.messages || !after.messages.join().includes("after the fault")) fail("poll of the new queue: " + JSON.stringify(after));

// The old queue is gone, rule or not.
await admin("DELETE", "/v1/faults/" + rule.id);
const old = await zulip.events.retrieve({ queue_id: first, last_event_id: -1 });
if (old.code !== "BAD_EVENT_QUEUE_ID") fail("the old queue after the rule: " + JSON.stringify(old));

console.log(JSON.stringify({ ok: true, expired: first, registrations }));
process.exit(0);
