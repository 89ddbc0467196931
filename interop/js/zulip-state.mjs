// zulip-js 2.1.0, unmodified, as a Zulip identity mirrored by a zulip
// connector on HERALD_URL: register's initial state (realm, users,
// subscriptions, streams, the newest message id) must be the server's, the
// same as what the identity's other calls (proxied to the server) answer,
// while the queue is herald's. It prints what it got for the test to
// compare with the upstream's own answers.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const zulipInit = require("zulip-js");

const { HERALD_URL, ZULIP_EMAIL, ZULIP_KEY } = process.env;
const fail = (msg) => {
  console.error(msg);
  process.exit(1);
};
setTimeout(() => fail("timeout"), 20000).unref();

const zulip = await zulipInit({ username: ZULIP_EMAIL, apiKey: ZULIP_KEY, realm: HERALD_URL });
const reg = await zulip.queues.register({
  event_types: ["message"],
  fetch_event_types: ["realm", "realm_user", "subscription", "stream", "message"],
});
if (reg.result !== "success" || !reg.queue_id) fail("register: " + JSON.stringify(reg));

const subs = await zulip.streams.subscriptions.retrieve();
const streams = await zulip.streams.retrieve();
const users = await zulip.users.retrieve();
for (const [what, res] of [["subscriptions", subs], ["streams", streams], ["users", users]]) {
  if (res.result !== "success") fail(what + ": " + JSON.stringify(res));
}
const names = (list) => (list || []).map((s) => s.name).sort();
const emails = (list) => (list || []).map((u) => u.email).sort();
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
if (!same(names(reg.subscriptions), names(subs.subscriptions))) {
  fail("register's subscriptions " + names(reg.subscriptions) + ", the server's " + names(subs.subscriptions));
}
if (!same(names(reg.streams), names(streams.streams))) {
  fail("register's streams " + names(reg.streams) + ", the server's " + names(streams.streams));
}
if (!same(emails(reg.realm_users), emails(users.members))) {
  fail("register's realm_users " + emails(reg.realm_users) + ", the server's " + emails(users.members));
}

// The queue is herald's: it answers here, and deregisters here.
const got = await zulip.events.retrieve({ queue_id: reg.queue_id, last_event_id: reg.last_event_id, dont_block: true });
if (got.result !== "success") fail("retrieve: " + JSON.stringify(got));
const del = await zulip.queues.deregister({ queue_id: reg.queue_id });
if (del.result !== "success") fail("deregister: " + JSON.stringify(del));

console.log(JSON.stringify({
  ok: true,
  queue_id: reg.queue_id,
  subscriptions: names(reg.subscriptions),
  realm_users: emails(reg.realm_users),
  max_message_id: reg.max_message_id,
  realm_name: reg.realm_name,
}));
process.exit(0);
