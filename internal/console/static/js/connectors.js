// Connectors (admin): GET /v1/connectors — each connector's kind, upstream
// URL, the node running it, whether it is connected, what it ingested, its
// last error and reconnects —, POST to add (or replace) one, DELETE to
// remove it. The upstream's key is never shown: only whether one is stored.

import { $, confirmClick, el, fillTable, setStatus, timeCell, whileShown } from './dom.js';
import { deleteConnector, listConnectors, putConnector } from './api.js';

export const panel = { id: 'connectors', adminOnly: true, init, ...whileShown(refresh, 3000) };

function init() {
  $('#conn-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    add(ev.target);
  });
  $('#conn-refresh').addEventListener('click', () => refresh(new AbortController().signal));
}

async function refresh(signal) {
  const status = $('#conn-status');
  try {
    const { connectors } = await listConnectors(signal);
    fillTable($('#conn-table tbody'), connectors.map(row), 'No connectors: add one above, or with herald connector add.');
    if (!status.classList.contains('ok')) setStatus(status, '');
  } catch (e) {
    if (!signal.aborted) setStatus(status, `Could not list connectors: ${e.message}`, 'error');
  }
}

function row(c) {
  const st = c.state ?? {};
  const del = el('button', { type: 'button', class: 'danger' }, 'Remove');
  confirmClick(del, 'Really remove?', () => remove(c.name));
  let connected;
  if (st.stopped) connected = el('span', { class: 'bad', title: 'the upstream refused it for good: change its definition' }, 'stopped');
  else if (st.connected) connected = el('span', { class: 'good' }, 'yes');
  else connected = el('span', { class: 'bad' }, 'no');
  return el('tr', { 'data-name': c.name },
    el('td', {}, el('strong', {}, c.name)),
    el('td', {}, c.kind),
    el('td', { class: 'mono wrap' }, c.url, c.key_set ? null : el('div', { class: 'muted' }, 'no key stored')),
    el('td', { class: 'mono' }, c.node || el('span', { class: 'muted', title: 'no node holds its lease yet' }, '—')),
    el('td', { class: 'connected' }, connected),
    el('td', { class: 'num' }, String(st.events ?? 0)),
    el('td', {}, timeCell(st.last_event)),
    el('td', { class: 'error-text last-error' }, st.last_error
      ? el('span', { class: 'bad' }, st.last_error, st.last_error_at ? el('div', { class: 'muted' }, timeCell(st.last_error_at)) : null)
      : el('span', { class: 'muted' }, '—')),
    el('td', { class: 'num' }, String(st.reconnects ?? 0)),
    el('td', { class: 'actions' }, del));
}

async function add(form) {
  const status = $('#conn-status');
  const spec = { name: form.name.value.trim(), kind: form.kind.value, url: form.url.value.trim() };
  if (form.key.value) spec.key = form.key.value;
  if (form.insecure_tls.checked) spec.insecure_tls = true;
  try {
    const c = await putConnector(spec);
    setStatus(status, `Connector ${c.name} saved; a node starts it within moments.`, 'ok');
    form.reset();
  } catch (e) {
    setStatus(status, `Could not save the connector: ${e.message}`, 'error');
  }
  refresh(new AbortController().signal);
}

async function remove(name) {
  const status = $('#conn-status');
  try {
    await deleteConnector(name);
    setStatus(status, `Removed ${name}.`, 'ok');
  } catch (e) {
    setStatus(status, `Could not remove ${name}: ${e.message}`, 'error');
  }
  refresh(new AbortController().signal);
}
