// Cluster (admin): GET /v1/cluster — the stream's leader, replicas and their
// lag, and the herald nodes serving the log with how far behind each is —
// and GET /readyz, refreshed every few seconds while the panel is shown.

import { $, bytes, dateTime, duration, el, setStatus, timeCell, whileShown } from './dom.js';
import { cluster as getCluster, readiness } from './api.js';

const every = 5000;

export const panel = { id: 'cluster', adminOnly: true, init() {}, ...whileShown(refresh, every) };

async function refresh(signal) {
  const status = $('#cluster-status');
  const [ready, cluster] = await Promise.allSettled([readiness(signal), getCluster(signal)]);
  if (signal.aborted) return;
  if (ready.status === 'fulfilled') {
    const r = ready.value;
    const node = $('#cl-ready');
    node.textContent = r.ok ? 'ready' : r.text;
    node.title = r.error;
    node.className = `value ${r.ok ? 'good' : 'bad'}`;
  }
  if (cluster.status === 'rejected') {
    setStatus(status, `Could not read the cluster: ${cluster.reason.message} Retrying every ${every / 1000} s.`, 'error');
    return;
  }
  render(cluster.value);
  setStatus(status, `Updated ${dateTime(new Date())} · refreshes every ${every / 1000} s · answered by node ${cluster.value.node}`);
}

function render({ stream, nodes }) {
  $('#cl-leader').textContent = stream.leader || 'this server';
  $('#cl-leader').title = stream.cluster ? `NATS cluster ${stream.cluster}` : 'embedded engine, no cluster';
  $('#cl-range').textContent = `${stream.messages} (${stream.first_seq} … ${stream.last_seq})`;
  $('#cl-size').textContent = bytes(stream.bytes);

  const replicas = (stream.replicas ?? []).map((r) => el('tr', {},
    el('td', { class: 'mono' }, r.name),
    el('td', {}, r.current ? 'yes' : el('span', { class: 'bad' }, 'no')),
    el('td', {}, r.offline ? el('span', { class: 'bad' }, 'offline') : 'online'),
    el('td', { class: 'num' }, String(r.lag))));
  if (!replicas.length) replicas.push(el('tr', {}, el('td', { colspan: 4, class: 'empty' }, 'No replicas: the stream has one copy (R1).')));
  $('#cl-replicas tbody').replaceChildren(...replicas);

  const rows = (nodes ?? []).map((n) => el('tr', { class: n.self ? 'self' : '' },
    el('td', { class: 'mono', title: n.id }, n.id, n.self ? el('span', { class: 'badge' }, 'this node') : null),
    el('td', {}, el('span', { class: n.state === 'fresh' ? 'good' : 'bad', title: n.error ?? '' }, n.error ? `${n.state} (${n.error})` : n.state)),
    el('td', {}, n.host ?? ''),
    el('td', { class: 'num' }, n.pid ? String(n.pid) : ''),
    el('td', {}, n.version ?? ''),
    el('td', { class: 'num' }, String(n.tail ?? '')),
    el('td', { class: 'num' }, String(n.lag ?? '')),
    el('td', { class: 'mono' }, subscribers(n.subscribers)),
    el('td', { title: n.heartbeat ?? '' }, n.age_ms != null ? `${duration(n.age_ms)} ago` : '—'),
    el('td', {}, timeCell(n.started)),
    el('td', { class: 'mono urls' }, ...(n.urls ?? []).map((u) => el('div', {}, u)))));
  if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 11, class: 'empty' }, 'No node has registered yet.')));
  $('#cl-nodes tbody').replaceChildren(...rows);
}

/** subscribers renders open streams by transport: "sse 3 · websocket 1". */
function subscribers(m) {
  const parts = Object.entries(m ?? {}).filter(([, n]) => n > 0).map(([t, n]) => `${t} ${n}`);
  return parts.length ? parts.join(' · ') : '0';
}
