// Plex (admin): the tokens Plex clients use (keys of dialect plex in
// GET /v1/keys, made by POST /v1/plex/tokens), and simulated library scans
// and playback (POST /v1/plex/simulate/scan, /play), which Plex clients
// receive as notifications.

import { $, el, fillTable, secretNotice, setStatus, timeCell } from './dom.js';
import { listKeys, plexCreateToken, plexPlay, plexScan } from './api.js';

export const panel = { id: 'plex', adminOnly: true, init, shown: refresh };

function init() {
  $('#plex-token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    createToken(ev.target);
  });
  $('#plex-scan').addEventListener('submit', (ev) => {
    ev.preventDefault();
    run('Library scan', () => plexScan({ section: ev.target.section.value.trim() || undefined, items: Number(ev.target.items.value) || undefined }));
  });
  $('#plex-play').addEventListener('submit', (ev) => {
    ev.preventDefault();
    run('Playback', () => plexPlay({ title: ev.target.title.value.trim() || undefined, updates: Number(ev.target.updates.value) || undefined }));
  });
}

async function refresh() {
  const status = $('#plex-status');
  try {
    const { keys } = await listKeys();
    fillTable($('#plex-tokens tbody'), keys.filter((k) => k.dialect === 'plex').map((k) => el('tr', { 'data-id': k.id },
      el('td', {}, el('strong', {}, k.name)),
      el('td', { class: 'mono muted' }, k.id),
      el('td', {}, timeCell(k.created)),
      el('td', {}, k.last_used ? timeCell(k.last_used) : el('span', { class: 'muted', title: 'not since this node started' }, 'not seen')))),
    'No Plex tokens: create one above, or with herald plex token create.');
    if (!status.classList.contains('ok')) setStatus(status, '');
  } catch (e) {
    setStatus(status, `Could not list Plex tokens: ${e.message}`, 'error');
  }
}

async function createToken(form) {
  const status = $('#plex-status');
  try {
    const t = await plexCreateToken(form.name.value.trim() || 'plex');
    secretNotice($('#plex-secret'), `Token ${t.name} created`, t.token);
    setStatus(status, '');
    form.reset();
  } catch (e) {
    setStatus(status, `Could not create the token: ${e.message}`, 'error');
  }
  refresh();
}

async function run(what, fn) {
  const status = $('#plex-status');
  try {
    const res = await fn();
    setStatus(status, `${what} simulated: ${res.events} notification(s), seq ${res.first}–${res.last}${res.activity ? `, activity ${res.activity}` : ''}.`, 'ok');
  } catch (e) {
    setStatus(status, `${what} failed: ${e.message}`, 'error');
  }
}
