// Durable subscriptions: GET /v1/subscriptions (position, pending),
// PUT /v1/subscriptions/{name} (create, or change topics), DELETE, and a
// fetch of a batch (GET …/{name}/events) that the operator may acknowledge
// (POST …/{name}/ack with the batch id). Fetching without acking changes
// nothing: the same batch comes back until it is acknowledged.

import { $, confirmClick, el, eventItem, list, patterns, setStatus, timeCell } from './dom.js';
import { ackSubscription, deleteSubscription, fetchSubscription, listSubscriptions, putSubscription } from './api.js';

export const panel = { id: 'subscriptions', init, shown: refresh };

const pendingCap = 10000; // herald counts pending events up to this
let fetched = null; // {name, batch}

function init() {
  const form = $('#sub-form');
  form.start.addEventListener('change', () => {
    form.seq.hidden = form.start.value !== 'seq';
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    save();
  });
  $('#sub-refresh').addEventListener('click', refresh);
  $('#sub-fetch-again').addEventListener('click', () => fetchBatch(fetched.name));
  $('#sub-fetch-close').addEventListener('click', closeFetch);
  $('#sub-ack').addEventListener('click', ack);
}

async function refresh() {
  const status = $('#sub-status');
  try {
    const { subscriptions } = await listSubscriptions();
    const rows = subscriptions.map(row);
    if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 8, class: 'empty' }, 'No subscriptions yet.')));
    $('#sub-table tbody').replaceChildren(...rows);
    if (!status.classList.contains('ok')) setStatus(status, '');
  } catch (e) {
    setStatus(status, `Could not list subscriptions: ${e.message}`, 'error');
  }
}

function row(s) {
  const fetchButton = el('button', { type: 'button' }, 'Fetch');
  fetchButton.addEventListener('click', () => fetchBatch(s.name));
  const del = el('button', { type: 'button', class: 'danger' }, 'Delete');
  confirmClick(del, 'Really delete?', () => remove(s.name));
  return el('tr', { 'data-name': s.name },
    el('td', {}, el('strong', {}, s.name)),
    el('td', { class: 'mono' }, list(s.topics)),
    el('td', { class: 'num' }, String(s.position)),
    el('td', { class: 'num' }, s.pending >= pendingCap ? `${pendingCap}+` : String(s.pending)),
    el('td', { class: 'mono muted', title: s.batch ?? '' }, s.batch ? `${s.batch.slice(0, 8)}…` : '—'),
    el('td', { class: 'mono muted' }, s.owner),
    el('td', {}, timeCell(s.last_active)),
    el('td', { class: 'actions' }, fetchButton, del));
}

async function save() {
  const form = $('#sub-form');
  const status = $('#sub-status');
  const name = form.name.value.trim();
  if (!/^[A-Za-z0-9_-]+$/.test(name)) {
    setStatus(status, 'Subscription names use letters, digits, - and _.', 'error');
    return;
  }
  const body = {};
  const topics = patterns(form.topics.value);
  if (topics.length) body.topics = topics;
  body.start = form.start.value === 'seq' ? form.seq.value.trim() : form.start.value;
  try {
    const s = await putSubscription(name, body);
    setStatus(status, `Saved ${s.name}: topics ${list(s.topics)}, position ${s.position}, ${s.pending} pending.`, 'ok');
    form.name.value = '';
  } catch (e) {
    setStatus(status, `Could not save ${name}: ${e.message}`, 'error');
  }
  refresh();
}

async function remove(name) {
  const status = $('#sub-status');
  try {
    await deleteSubscription(name);
    setStatus(status, `Deleted ${name}.`, 'ok');
    if (fetched?.name === name) closeFetch();
  } catch (e) {
    setStatus(status, `Could not delete ${name}: ${e.message}`, 'error');
  }
  refresh();
}

async function fetchBatch(name) {
  const box = $('#sub-fetch');
  const limit = Math.min(Math.max(Number($('#sub-fetch-limit').value) || 10, 1), 1000);
  const status = $('#sub-fetch-status');
  box.hidden = false;
  $('#sub-fetch-title').textContent = `Fetch from ${name}`;
  fetched = { name, batch: null };
  $('#sub-ack').disabled = true;
  try {
    const res = await fetchSubscription(name, limit);
    fetched.batch = res.batch;
    $('#sub-fetch-events').replaceChildren(...res.events.map(eventItem));
    if (res.batch) {
      setStatus(status, `Batch ${res.batch}: ${res.events.length} event(s), pending until acknowledged.`);
      $('#sub-ack').disabled = false;
    } else {
      setStatus(status, 'Nothing pending: every matching event is acknowledged.', 'ok');
    }
  } catch (e) {
    $('#sub-fetch-events').replaceChildren();
    setStatus(status, `Could not fetch: ${e.message}`, 'error');
  }
  refresh();
}

async function ack() {
  const { name, batch } = fetched;
  const status = $('#sub-fetch-status');
  $('#sub-ack').disabled = true;
  try {
    const s = await ackSubscription(name, batch);
    setStatus(status, `Acknowledged: ${name} is now at seq ${s.position}, ${s.pending} pending.`, 'ok');
    $('#sub-fetch-events').replaceChildren();
    fetched.batch = null;
  } catch (e) {
    setStatus(status, `Could not acknowledge: ${e.message}`, 'error');
    $('#sub-ack').disabled = false;
  }
  refresh();
}

function closeFetch() {
  $('#sub-fetch').hidden = true;
  $('#sub-fetch-events').replaceChildren();
  fetched = null;
}
