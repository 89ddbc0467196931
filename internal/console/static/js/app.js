// The console's entry point: signing in and out, the panels and the
// navigation between them (#overview, #tail, #publish, #routes, …), the
// header badge (health.js) and the fault banner (faults.js).

import { $ } from './dom.js';
import { HeraldError, clearKey, config, key, listKeys, listSubscriptions, setKey, signedInAs } from './api.js';
import { start as startHealth } from './health.js';
import { panel as faults, start as startFaults } from './faults.js';
import { panel as overview } from './overview.js';
import { panel as tail } from './tail.js';
import { panel as publish } from './publish.js';
import { panel as subscriptions } from './subscriptions.js';
import { panel as keys } from './keys.js';
import { panel as cluster } from './cluster.js';
import { panel as hue } from './hue.js';
import { panel as zulip } from './zulip.js';
import { panel as jetstream } from './jetstream.js';
import { panel as plex } from './plex.js';
import { panel as routes } from './routes.js';
import { panel as webhooks } from './webhooks.js';
import { panel as connectors } from './connectors.js';

const panels = [overview, tail, publish, subscriptions, keys, cluster, routes, webhooks, connectors, faults, hue, zulip, jetstream, plex];
let admin = false;
let current = null;

// A key in the fragment (#key=hk_…) signs in directly; it is for scripted
// use such as tests. The fragment is never sent to the server, and it is
// removed from the address bar and history at once.
function keyFromFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  const k = params.get('key');
  if (!k) return;
  setKey(k);
  history.replaceState(null, '', `${location.pathname}#${params.get('panel') ?? ''}`);
}

/** check asks the API what a key is: {admin} or a HeraldError. */
async function check(token) {
  // Any native key may list its own subscriptions; a key of another
  // dialect gets 403 here, which is right: the console speaks native.
  await listSubscriptions({ token, noAuthEvent: true });
  try {
    await listKeys({ token, noAuthEvent: true });
    return { admin: true };
  } catch (e) {
    if (e instanceof HeraldError && e.status === 403) return { admin: false };
    throw e;
  }
}

function showLogin(message = '') {
  $('#app').hidden = true;
  $('#login').hidden = false;
  const err = $('#login-error');
  err.textContent = message;
  err.hidden = !message;
  $('#login-key').focus();
}

async function login(ev) {
  ev.preventDefault();
  const token = $('#login-key').value.trim();
  const button = $('#login-form button[type=submit]');
  button.disabled = true;
  try {
    const who = await check(token);
    setKey(token);
    $('#login-key').value = '';
    start(who);
  } catch (e) {
    let message = `Could not sign in: ${e.message}`;
    if (e instanceof HeraldError && e.status === 401) {
      message = e.code === 'token_expired'
        ? 'This token has expired: get a new one from your application.'
        : 'This key is not valid: check that it was copied whole (hk_…), or use the admin key from the file named below.';
    }
    showLogin(message);
  } finally {
    button.disabled = false;
  }
}

/** start shows the console for the signed-in key. */
function start(who) {
  admin = who.admin;
  $('#login').hidden = true;
  $('#app').hidden = false;
  $('#whoami').textContent = `${signedInAs()}${admin ? ' · admin' : ''}`;
  for (const a of document.querySelectorAll('nav [data-admin]')) a.hidden = !admin;
  for (const p of panels) {
    if (!p.adminOnly || admin) p.init();
  }
  addEventListener('hashchange', route);
  route();
  startHealth();
  if (admin) startFaults();
}

/** route shows the panel the fragment names (the overview, or for a key that may not read it the live tail, by default). */
function route() {
  const home = admin ? overview : tail;
  let p = panels.find((x) => x.id === location.hash.slice(1)) ?? home;
  if (p.adminOnly && !admin) p = home;
  if (p === current) return;
  current?.hidden?.();
  current = p;
  for (const x of panels) $(`#panel-${x.id}`).hidden = x !== p;
  for (const a of document.querySelectorAll('nav a')) {
    if (a.dataset.panel === p.id) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  p.shown();
}

// signOut forgets the key and reloads, which ends every stream and timer.
function signOut(message = '') {
  clearKey();
  if (message) sessionStorage.setItem('herald.message', message);
  location.replace(location.pathname);
}

async function boot() {
  $('#login-form').addEventListener('submit', login);
  $('#logout').addEventListener('click', () => signOut());
  addEventListener('herald:unauthorized', () => signOut('The key is no longer valid (revoked?). Sign in again.'));
  keyFromFragment();
  // A #key=… typed into the address bar of an open console changes only
  // the fragment (no new page load): take the key and start over with it.
  addEventListener('hashchange', () => {
    if (new URLSearchParams(location.hash.slice(1)).has('key')) {
      keyFromFragment();
      location.reload();
    }
  });
  config().then((c) => {
    if (c.admin_key_path) $('#login-key-path').textContent = c.admin_key_path;
  });
  const message = sessionStorage.getItem('herald.message') ?? '';
  sessionStorage.removeItem('herald.message');
  if (!key()) {
    showLogin(message);
    return;
  }
  try {
    start(await check(key()));
  } catch (e) {
    const rejected = e instanceof HeraldError && (e.status === 401 || e.status === 403);
    if (rejected) clearKey(); // else herald is unreachable: keep the key for a retry
    showLogin(e instanceof HeraldError && e.status === 401 ? 'This key is not valid: check that it was copied whole (hk_…), or use the admin key from the file named below.' : `Could not sign in: ${e.message}`);
  }
}

boot().catch((e) => showLogin(`The console failed to start: ${e.message ?? e}`));
