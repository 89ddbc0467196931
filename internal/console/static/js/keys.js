// Keys (admin): GET /v1/keys, POST /v1/keys (the answer carries the token,
// the only time herald ever shows it), DELETE /v1/keys/{id}. "Last used" is
// when the node that answered last authenticated the key (kept in memory:
// absent for a key it has not seen since it started).

import { $, confirmClick, el, list, patterns, setStatus, timeCell } from './dom.js';
import { createKey, keyID, listKeys, revokeKey } from './api.js';

export const panel = { id: 'keys', adminOnly: true, init, shown: refresh };

function init() {
  $('#key-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    create();
  });
  $('#key-token-copy').addEventListener('click', copyToken);
  $('#key-token-done').addEventListener('click', hideToken);
}

async function refresh() {
  try {
    const { keys } = await listKeys();
    keys.sort((a, b) => (a.created < b.created ? -1 : 1));
    $('#key-table tbody').replaceChildren(...keys.map(row));
  } catch (e) {
    setStatus($('#key-status'), `Could not list keys: ${e.message}`, 'error');
  }
}

function row(k) {
  const mine = k.id === keyID();
  const revoke = el('button', { type: 'button', class: 'danger', disabled: mine, title: mine ? 'the key this console is signed in with' : '' }, 'Revoke');
  if (!mine) confirmClick(revoke, 'Really revoke?', () => remove(k));
  return el('tr', { 'data-id': k.id },
    el('td', { class: 'wrap' }, el('strong', {}, k.name || '—'), mine ? el('span', { class: 'badge' }, 'this session') : null),
    el('td', { class: 'mono muted' }, k.id),
    el('td', { class: 'mono wrap' }, list(k.publish)),
    el('td', { class: 'mono wrap' }, list(k.subscribe)),
    el('td', {}, k.admin ? el('span', { class: 'badge admin' }, 'admin') : ''),
    el('td', {}, k.dialect || 'native'),
    el('td', { class: 'num' }, k.rate ? String(k.rate) : 'default'),
    el('td', {}, timeCell(k.created)),
    el('td', {}, k.last_used ? timeCell(k.last_used) : el('span', { class: 'muted', title: 'not since this node started' }, 'not seen')),
    el('td', { class: 'actions' }, revoke));
}

async function create() {
  const form = $('#key-form');
  const status = $('#key-status');
  const body = {
    name: form.name.value.trim(),
    publish: patterns(form.publish.value),
    subscribe: patterns(form.subscribe.value),
    admin: form.admin.checked,
  };
  if (form.rate.value !== '') body.rate = Number(form.rate.value);
  try {
    const k = await createKey(body);
    $('#key-token-name').textContent = k.name;
    $('#key-token-value').textContent = k.token;
    $('#key-token').hidden = false;
    setStatus(status, '');
    form.reset();
  } catch (e) {
    setStatus(status, `Could not create the key: ${e.message}`, 'error');
  }
  refresh();
}

async function copyToken() {
  const token = $('#key-token-value').textContent;
  try {
    await navigator.clipboard.writeText(token);
    $('#key-token-copy').textContent = 'Copied';
  } catch {
    // No clipboard access (plain HTTP on another host): select it instead.
    getSelection().selectAllChildren($('#key-token-value'));
  }
}

// hideToken removes the token from the page: it should not linger.
function hideToken() {
  $('#key-token-value').textContent = '';
  $('#key-token-copy').textContent = 'Copy';
  $('#key-token').hidden = true;
}

async function remove(k) {
  const status = $('#key-status');
  try {
    await revokeKey(k.id);
    setStatus(status, `Revoked ${k.name || k.id}.`, 'ok');
  } catch (e) {
    setStatus(status, `Could not revoke ${k.name || k.id}: ${e.message}`, 'error');
  }
  refresh();
}
