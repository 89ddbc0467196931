// @lukehagar/plexjs 0.43.0 (events.getNotifications) and the npm ws client,
// unmodified, on herald's Plex notifications: a simulated library scan
// (made through herald's admin endpoint) must arrive over both, in order.
// SCAN_URL and SCAN_ADMIN_KEY name another herald to scan on (the upstream
// of a plex connector on HERALD_URL); by default the scan is made on HERALD_URL.
import { PlexAPI } from "@lukehagar/plexjs";
import WebSocket from "ws";

const { HERALD_URL, PLEX_TOKEN, ADMIN_KEY } = process.env;
const SCAN_URL = process.env.SCAN_URL || HERALD_URL;
const SCAN_ADMIN_KEY = process.env.SCAN_ADMIN_KEY || ADMIN_KEY;
const fail = (msg) => {
  console.error(msg);
  process.exit(1);
};
setTimeout(() => fail("timeout"), 20000).unref();

const plex = new PlexAPI({ serverURL: HERALD_URL, token: PLEX_TOKEN });
const res = await plex.events.getNotifications({ filter: ["activity"] });
if (res.statusCode !== 200 || !res.responseStream) fail("getNotifications: " + res.statusCode);

const ws = new WebSocket(HERALD_URL.replace(/^http/, "ws") + "/:/websocket/notifications?X-Plex-Token=" + PLEX_TOKEN);
const wsFrames = [];
ws.on("message", (data) => {
  const c = JSON.parse(data.toString()).NotificationContainer;
  if (!c || typeof c.size !== "number") fail("ws frame: " + data);
  if (c.type === "activity") wsFrames.push(c.ActivityNotification[0].event);
});
await new Promise((resolve, reject) => {
  ws.on("open", resolve);
  ws.on("error", reject);
});

const scan = await fetch(SCAN_URL + "/v1/plex/simulate/scan", {
  method: "POST",
  headers: { Authorization: "Bearer " + SCAN_ADMIN_KEY, "Content-Type": "application/json" },
  body: JSON.stringify({ section: "Movies", items: 3 }),
});
if (!scan.ok) fail("scan: " + scan.status + " " + (await scan.text()));

// Read the SSE text the SDK hands back until the activity has ended.
const reader = res.responseStream.getReader();
const decoder = new TextDecoder();
let text = "";
const sse = [];
while (!sse.includes("ended")) {
  const { value, done } = await reader.read();
  if (done) fail("stream ended early: " + text);
  text += decoder.decode(value, { stream: true });
  let i;
  while ((i = text.indexOf("\n\n")) >= 0) {
    const frame = text.slice(0, i);
    text = text.slice(i + 2);
    const event = /^event: (.*)$/m.exec(frame);
    const data = /^data: (.*)$/m.exec(frame);
    if (!event || event[1] === "ping") continue;
    if (event[1] !== "activity") fail("filter not applied: " + frame);
    sse.push(JSON.parse(data[1]).ActivityNotification.event);
  }
}
await reader.cancel();
for (let i = 0; i < 50 && !wsFrames.includes("ended"); i++) await new Promise((r) => setTimeout(r, 100));
ws.close();
if (sse[0] !== "started" || sse.at(-1) !== "ended") fail("sse order: " + sse.join(","));
if (wsFrames.join(",") !== sse.join(",")) fail("ws saw " + wsFrames.join(",") + ", sse saw " + sse.join(","));
console.log(JSON.stringify({ ok: true, sse, ws: wsFrames }));
process.exit(0);
