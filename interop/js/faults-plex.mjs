// The npm ws client and @lukehagar/plexjs 0.43.0, unmodified, through a
// restart of herald's simulated Plex server (a restart fault rule): the
// WebSocket is closed with 1001 (going away), reconnecting is answered 503
// with Retry-After while the server is down, and once it is back both
// reconnect with the same token and get a library scan's notifications.
import { PlexAPI } from "@lukehagar/plexjs";
import WebSocket from "ws";
import { admin, deadline, fail, sleep } from "./faults-lib.mjs";

const { HERALD_URL, PLEX_TOKEN } = process.env;
deadline(40000);
const wsURL = HERALD_URL.replace(/^http/, "ws") + "/:/websocket/notifications?X-Plex-Token=" + PLEX_TOKEN;

// connect opens the WebSocket, waiting Retry-After after each 503.
const refusals = [];
const connect = async () => {
  for (;;) {
    const ws = new WebSocket(wsURL);
    const r = await new Promise((resolve) => {
      ws.on("open", () => resolve({ ws }));
      ws.on("unexpected-response", (_req, res) => resolve({ status: res.statusCode, retry: res.headers["retry-after"] }));
      ws.on("error", (err) => resolve({ err }));
    });
    if (r.ws) return r.ws;
    if (r.status !== 503 || !/^\d+$/.test(r.retry || "")) fail("reconnecting: " + JSON.stringify(r));
    refusals.push(r.status);
    await sleep(Number(r.retry) * 1000);
  }
};

const plex = new PlexAPI({ serverURL: HERALD_URL, token: PLEX_TOKEN });
const sseBefore = await plex.events.getNotifications({ filter: ["activity"] });
if (sseBefore.statusCode !== 200) fail("getNotifications: " + sseBefore.statusCode);

let ws = await connect();
const closed = new Promise((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })));
await admin("POST", "/v1/faults", { dialect: "plex", action: "restart", down: "2s" });
const close = await closed;
if (close.code !== 1001) fail("close at the restart: " + JSON.stringify(close));
// The SDK's event stream ends too.
const reader = sseBefore.responseStream.getReader();
for (;;) {
  const { done } = await reader.read();
  if (done) break;
}

ws = await connect();
if (refusals.length === 0) fail("reconnected without a 503: the server never looked down");
const frames = [];
ws.on("message", (data) => {
  const c = JSON.parse(data.toString()).NotificationContainer;
  if (c.type === "activity") frames.push(c.ActivityNotification[0].event);
});
// plexjs again, once the server is back (it returns or throws on the 503).
let sse;
for (;;) {
  try {
    sse = await plex.events.getNotifications({ filter: ["activity"] });
    if (sse.statusCode === 200) break;
  } catch (err) {
    if (!/503/.test(String(err))) fail("getNotifications after the restart: " + err);
  }
  await sleep(250);
}
await admin("POST", "/v1/plex/simulate/scan", { section: "Movies", items: 2 });
const text = [];
const sseReader = sse.responseStream.getReader();
const decoder = new TextDecoder();
while (!text.join("").includes('"ended"')) {
  const { value, done } = await sseReader.read();
  if (done) fail("plexjs stream ended early");
  text.push(decoder.decode(value, { stream: true }));
}
await sseReader.cancel();
for (let i = 0; i < 50 && !frames.includes("ended"); i++) await sleep(100);
ws.close();
if (frames[0] !== "started" || frames.at(-1) !== "ended") fail("ws after the restart: " + frames.join(","));
console.log(JSON.stringify({ ok: true, close: close.code, refusals: refusals.length, ws: frames }));
process.exit(0);
