// Webhooks: the endpoints herald delivers to (GET /v1/webhooks: each key
// sees its own, an admin all), with their position and failing mark; an
// endpoint's last attempts (GET /v1/webhooks/{id}/attempts, newest first:
// time, status, latency, the answer's first bytes); a replay after a
// position (POST …/replay), which also clears the failing mark; add
// (the signing secret is shown once) and remove.

import { $, confirmClick, duration, el, fillTable, list, patterns, secretNotice, setStatus, timeCell, whileShown } from './dom.js';
import { createWebhook, deleteWebhook, listWebhooks, replayWebhook, webhookAttempts } from './api.js';

export const panel = { id: 'webhooks', init, ...whileShown(refresh, 5000) };

let open = null; // the endpoint whose attempts are shown

function init() {
  $('#wh-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    add(ev.target);
  });
  $('#wh-refresh').addEventListener('click', () => refresh(new AbortController().signal));
  $('#wh-replay').addEventListener('submit', (ev) => {
    ev.preventDefault();
    replay();
  });
  $('#wh-attempts-refresh').addEventListener('click', () => attempts(new AbortController().signal));
  $('#wh-attempts-close').addEventListener('click', closeAttempts);
}

async function refresh(signal) {
  const status = $('#wh-status');
  try {
    const { webhooks } = await listWebhooks(signal);
    fillTable($('#wh-table tbody'), webhooks.map(row), 'No webhooks: add one above, or with herald webhook add.');
    if (!status.classList.contains('ok')) setStatus(status, '');
    if (open) await attempts(signal);
  } catch (e) {
    if (!signal.aborted) setStatus(status, `Could not list webhooks: ${e.message}`, 'error');
  }
}

function row(w) {
  const st = w.status ?? {};
  const show = el('button', { type: 'button' }, 'Attempts');
  show.addEventListener('click', () => openAttempts(w));
  const del = el('button', { type: 'button', class: 'danger' }, 'Remove');
  confirmClick(del, 'Really remove?', () => remove(w));
  const state = st.failing
    ? el('span', { class: 'bad' }, 'failing', st.failing_since ? el('span', { class: 'muted' }, ' since ', timeCell(st.failing_since)) : null,
      st.last_error ? el('div', {}, st.last_error) : null,
      el('div', { class: 'muted' }, 'Nothing more is delivered until a replay.'))
    : el('span', { class: 'good' }, 'delivering', st.last_error ? el('div', { class: 'muted' }, `last error: ${st.last_error}`) : null);
  return el('tr', { 'data-id': w.id, class: st.failing ? 'failing' : '' },
    el('td', { class: 'mono wrap' }, w.url, el('div', { class: 'muted' }, w.id, w.ordered ? ' · ordered' : '')),
    el('td', { class: 'mono wrap' }, list(w.topics), w.types?.length ? el('div', { class: 'muted' }, `types ${list(w.types)}`) : null),
    el('td', { class: 'num position' }, String(st.position ?? 0)),
    el('td', { class: 'num' }, String(st.retrying ?? 0)),
    el('td', { class: 'error-text state' }, state),
    el('td', {}, timeCell(w.created)),
    el('td', { class: 'actions' }, show, del));
}

async function add(form) {
  const status = $('#wh-status');
  const spec = { url: form.url.value.trim(), topics: patterns(form.topics.value), ordered: form.ordered.checked };
  const types = patterns(form.types.value);
  if (types.length) spec.types = types;
  const after = form.after.value.trim();
  if (after !== '') {
    if (!/^\d+$/.test(after)) {
      setStatus(status, 'After seq is a sequence number, or empty to deliver from now.', 'error');
      return;
    }
    spec.after = Number(after);
  }
  try {
    const w = await createWebhook(spec);
    secretNotice($('#wh-secret'), `Webhook ${w.id} added; this is its signing secret (verify the webhook-signature header with it)`, w.secret);
    setStatus(status, '');
    form.reset();
  } catch (e) {
    setStatus(status, `Could not add the webhook: ${e.message}`, 'error');
  }
  refresh(new AbortController().signal);
}

async function remove(w) {
  const status = $('#wh-status');
  try {
    await deleteWebhook(w.id);
    setStatus(status, `Removed the webhook to ${w.url}.`, 'ok');
    if (open?.id === w.id) closeAttempts();
  } catch (e) {
    setStatus(status, `Could not remove the webhook: ${e.message}`, 'error');
  }
  refresh(new AbortController().signal);
}

function openAttempts(w) {
  open = w;
  $('#wh-attempts').hidden = false;
  $('#wh-attempts').dataset.id = w.id;
  $('#wh-attempts-title').textContent = `Attempts to ${w.url}`;
  $('#wh-replay').after.value = String(w.status?.position ?? 0);
  attempts(new AbortController().signal);
}

async function attempts(signal) {
  const status = $('#wh-attempts-status');
  const id = open?.id;
  if (!id) return;
  try {
    const { attempts: list } = await webhookAttempts(id, signal);
    if (open?.id !== id) return;
    fillTable($('#wh-attempts-table tbody'), list.map((a) => el('tr', { 'data-seq': a.seq, class: a.status >= 200 && a.status < 300 ? '' : 'failed' },
      el('td', {}, timeCell(a.time)),
      el('td', { class: 'num' }, String(a.seq)),
      el('td', { class: 'num' }, String(a.try)),
      el('td', {}, a.status
        ? el('span', { class: a.status >= 200 && a.status < 300 ? 'good' : 'bad' }, String(a.status))
        : el('span', { class: 'bad', title: 'no answer' }, 'no answer')),
      el('td', { class: 'num' }, a.latency_ms < 10 ? `${a.latency_ms.toFixed(1)} ms` : duration(a.latency_ms)),
      el('td', { class: 'excerpt' }, a.error || a.response || '')),
    ), 'No attempts yet: one is made for each event of the webhook’s topics.');
    if (!status.classList.contains('ok')) setStatus(status, `The last ${list.length} attempts, newest first.`);
  } catch (e) {
    if (!signal.aborted) setStatus(status, `Could not read the attempts: ${e.message}`, 'error');
  }
}

async function replay() {
  const status = $('#wh-attempts-status');
  const after = Number($('#wh-replay').after.value);
  if (!Number.isSafeInteger(after) || after < 0) {
    setStatus(status, 'Replay after a sequence number (0: from the start of the log).', 'error');
    return;
  }
  try {
    await replayWebhook(open.id, after);
    setStatus(status, `Replaying the events after seq ${after}; the failing mark is cleared.`, 'ok');
  } catch (e) {
    setStatus(status, `Could not replay: ${e.message}`, 'error');
  }
  refresh(new AbortController().signal);
}

function closeAttempts() {
  open = null;
  $('#wh-attempts').hidden = true;
}
