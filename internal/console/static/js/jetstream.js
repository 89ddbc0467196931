// Jetstream (admin): the RFID API's users with their subscriptions' pending
// events (GET/POST /v1/jetstream/users), and reads simulated at a device
// (POST /v1/jetstream/simulate), refreshed every few seconds while shown.

import { $, el, fillTable, list, secretNotice, setStatus, timeCell, whileShown } from './dom.js';
import { jetstreamAddUser, jetstreamSimulate, jetstreamUsers } from './api.js';

export const panel = { id: 'jetstream', adminOnly: true, init, ...whileShown(refresh, 5000) };

const pendingCap = 10000; // herald counts pending events up to this

function init() {
  $('#js-user-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    addUser(ev.target);
  });
  for (const b of document.querySelectorAll('#js-simulate button[data-read]')) {
    b.addEventListener('click', () => simulate(b.dataset.read));
  }
}

async function refresh(signal) {
  const status = $('#js-status');
  try {
    const { users } = await jetstreamUsers(signal);
    fillTable($('#js-users tbody'), users.map((u) => el('tr', { 'data-id': u.id },
      el('td', {}, el('strong', {}, u.name)),
      el('td', { class: 'num pending' }, u.pending >= pendingCap ? `${pendingCap}+` : String(u.pending ?? 0)),
      el('td', { class: 'mono' }, u.devices?.length ? list(u.devices) : 'all'),
      el('td', {}, u.subscribed ? 'yes' : el('span', { class: 'muted', title: 'made by its first GET /3/events' }, 'not yet')),
      el('td', {}, u.last_active ? timeCell(u.last_active) : '—'),
      el('td', { class: 'mono muted' }, u.id),
      el('td', {}, timeCell(u.created)))), 'No users: add one above, or with herald jetstream user add.');
    if (!status.classList.contains('ok')) setStatus(status, '');
  } catch (e) {
    if (!signal.aborted) setStatus(status, `Could not list Jetstream users: ${e.message}`, 'error');
  }
}

async function addUser(form) {
  const status = $('#js-status');
  const devices = form.devices.value.split(',').map((s) => s.trim()).filter(Boolean);
  try {
    const u = await jetstreamAddUser(form.name.value.trim(), devices);
    secretNotice($('#js-secret'), `User ${u.name} added; this is its access key (the AccessKey header)`, u.access_key);
    setStatus(status, '');
    form.reset();
  } catch (e) {
    setStatus(status, `Could not add the user: ${e.message}`, 'error');
  }
  refresh(new AbortController().signal);
}

async function simulate(read) {
  const form = $('#js-simulate');
  const status = $('#js-status');
  const device = form.device.value.trim();
  const req = { device };
  if (read === 'heartbeat') req.heartbeat = true;
  if (read === 'objects') req.objects = Number(form.objects.value) || 1;
  if (read === 'sensors') req.sensors = ['temperature', 'humidity'];
  if (read === 'aggregate') req.aggregate = true;
  try {
    const res = await jetstreamSimulate(req);
    const events = res.events ?? [];
    setStatus(status, `Simulated at ${device}: ${events.map((e) => `${e.type} (seq ${e.seq})`).join(', ') || 'nothing'}.`, 'ok');
  } catch (e) {
    setStatus(status, `Could not simulate: ${e.message}`, 'error');
  }
  refresh(new AbortController().signal);
}
