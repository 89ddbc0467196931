// Overview (admin): live charts of the answering node's own metrics over
// the last 15 minutes, from GET /v1/stats/history. The node keeps those
// samples (every 2 s, in memory), so the charts are full as soon as the
// page opens or reloads; while the panel is shown it asks for the samples
// newer than the last one it has.

import { $, duration, el, setStatus, whileShown } from './dom.js';
import { statsHistory } from './api.js';
import { Chart } from './charts.js';

export const panel = { id: 'overview', adminOnly: true, init, ...whileShown(poll, () => Math.max(every, 1000)) };

const window15 = 15 * 60 * 1000;
let samples = [];
let every = 2000;
let node = '';
const charts = {};

// The charts: what each plots from a sample.
const plots = [
  { id: 'appended', title: 'Events appended /s', unit: '/s', decimals: 1, series: () => ['appended'], value: (s) => [s.appended] },
  { id: 'delivered', title: 'Deliveries /s by transport', unit: '/s', decimals: 1, series: (ts) => ts.delivered, value: (s, ts) => ts.delivered.map((t) => s.delivered?.[t] ?? 0) },
  { id: 'subscribers', title: 'Live subscribers', series: (ts) => ts.subscribers, value: (s, ts) => ts.subscribers.map((t) => s.subscribers?.[t] ?? 0) },
  { id: 'p99', title: 'Publish latency p99', unit: ' ms', decimals: 2, series: () => ['p99'], value: (s) => [s.publish_p99_ms] },
  { id: 'taillag', title: 'Tail lag (events)', series: () => ['tail lag'], value: (s) => [s.tail_lag] },
  { id: 'sublag', title: 'Subscription lag (most pending)', series: () => ['pending'], value: (s) => [s.subscription_lag] },
  { id: 'whlag', title: 'Webhook lag (most behind)', series: () => ['events behind'], value: (s) => [s.webhook_lag ?? 0] },
];

function init() {
  const grid = $('#ov-charts');
  for (const p of plots) {
    const plot = el('div', { class: 'plot', id: `chart-${p.id}` });
    grid.append(el('figure', { class: 'card chart' }, el('figcaption', {}, p.title), plot));
    charts[p.id] = new Chart(plot, p);
  }
}

async function poll(signal) {
  const status = $('#ov-status');
  const since = samples.length ? samples[samples.length - 1].t : 0;
  try {
    const h = await statsHistory(since, signal);
    if (h.node !== node) samples = []; // another node answered (behind a balancer): its own history
    node = h.node;
    every = h.every_ms;
    samples = samples.concat(h.samples.filter((s) => s.t > since));
    const cut = Date.now() - window15;
    while (samples.length && samples[0].t < cut) samples.shift();
    draw();
    setStatus(status, `Node ${node} · a sample every ${duration(every)} · the last 15 min · ${samples.length} samples`);
  } catch (e) {
    if (!signal.aborted) setStatus(status, `Could not read the statistics: ${e.message}`, 'error');
  }
}

function draw() {
  const transports = (field) => [...new Set(samples.flatMap((s) => Object.keys(s[field] ?? {})))].sort();
  const ts = { delivered: transports('delivered'), subscribers: transports('subscribers') };
  if (!ts.subscribers.length) ts.subscribers = ['all'];
  if (!ts.delivered.length) ts.delivered = ['all'];
  const times = samples.map((s) => s.t / 1000);
  for (const p of plots) {
    const names = p.series(ts);
    const cols = names.map(() => []);
    for (const s of samples) p.value(s, ts).forEach((v, i) => cols[i].push(v ?? null));
    charts[p.id].set(names, [times, ...cols]);
  }
  const last = samples[samples.length - 1];
  if (!last) return;
  const sum = (m) => Object.values(m ?? {}).reduce((a, b) => a + b, 0);
  $('#ov-appended').textContent = `${last.appended.toFixed(1)} /s`;
  $('#ov-delivered').textContent = `${sum(last.delivered).toFixed(1)} /s`;
  $('#ov-subscribers').textContent = String(sum(last.subscribers));
  $('#ov-p99').textContent = last.publish_p99_ms == null ? '—' : `${last.publish_p99_ms.toFixed(2)} ms`;
}
