// Zulip (admin): the users (GET/POST /v1/zulip/users), the streams
// (GET/POST /v1/zulip/streams) and the event queues their clients
// registered (GET /v1/zulip/queues), refreshed every few seconds while the
// panel is shown.

import { $, el, fillTable, secretNotice, setStatus, timeCell, whileShown } from './dom.js';
import { zulipAddStream, zulipAddUser, zulipQueues, zulipStreams, zulipUsers } from './api.js';

export const panel = { id: 'zulip', adminOnly: true, init, ...whileShown(refresh, 5000) };

function init() {
  $('#zulip-user-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    addUser(ev.target);
  });
  $('#zulip-stream-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    addStream(ev.target);
  });
}

async function refresh(signal) {
  const status = $('#zulip-status');
  try {
    const [{ users }, { streams }, { queues }] = await Promise.all([zulipUsers(signal), zulipStreams(signal), zulipQueues(signal)]);
    fillTable($('#zulip-users tbody'), users.map((u) => el('tr', { 'data-email': u.email },
      el('td', {}, el('strong', {}, u.full_name)),
      el('td', { class: 'mono' }, u.email),
      el('td', {}, u.realm),
      el('td', { class: 'num' }, String(u.user_id)),
      el('td', { class: 'mono muted' }, u.key_id),
      el('td', {}, timeCell(u.created)))), 'No users: add one above, or with herald zulip user add.');
    fillTable($('#zulip-streams tbody'), streams.map((s) => el('tr', {},
      el('td', {}, el('strong', {}, `#${s.name}`)),
      el('td', {}, s.description),
      el('td', {}, s.realm),
      el('td', {}, timeCell(s.created)))), 'No streams yet.');
    fillTable($('#zulip-queues tbody'), queues.map((q) => el('tr', { 'data-queue': q.queue_id },
      el('td', { class: 'mono', title: q.queue_id }, `${q.queue_id.slice(0, 8)}…`),
      el('td', { class: 'mono' }, q.email || `user ${q.user_id} (removed)`),
      el('td', {}, q.realm),
      el('td', { class: 'mono' }, q.event_types ? q.event_types.join(', ') || 'heartbeats only' : 'all'),
      el('td', {}, timeCell(q.created)),
      el('td', { title: 'a poll stores this at most every fifth of the queue’s lifespan' }, timeCell(q.last_active)),
      el('td', {}, timeCell(q.expires)))), 'No event queues: a Zulip client registers one (POST /api/v1/register).');
    if (!status.classList.contains('ok')) setStatus(status, '');
  } catch (e) {
    if (!signal.aborted) setStatus(status, `Could not read Zulip's state: ${e.message}`, 'error');
  }
}

async function addUser(form) {
  const status = $('#zulip-status');
  try {
    const u = await zulipAddUser(form.email.value.trim(), form.full_name.value.trim());
    secretNotice($('#zulip-secret'), `User ${u.email} added; this is their API key (for a zuliprc)`, u.api_key);
    setStatus(status, '');
    form.reset();
  } catch (e) {
    setStatus(status, `Could not add the user: ${e.message}`, 'error');
  }
  refresh(new AbortController().signal);
}

async function addStream(form) {
  const status = $('#zulip-status');
  try {
    const s = await zulipAddStream(form.name.value.trim(), form.description.value.trim());
    setStatus(status, `Stream #${s.name} added.`, 'ok');
    form.reset();
  } catch (e) {
    setStatus(status, `Could not add the stream: ${e.message}`, 'error');
  }
  refresh(new AbortController().signal);
}
