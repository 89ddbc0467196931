// Every call the console makes to herald, with the signed-in key.
//
// The key lives in sessionStorage: it survives a reload of the tab but not
// the tab itself, is never sent by the browser on its own (unlike a cookie,
// so no cross-site request can use it), and is sent only as an
// Authorization header, so it never appears in a URL, a log or a Referer.
//
// Panels call the named functions below, never fetch() themselves. They
// are a thin layer over herald's JavaScript client (lib/herald, the same
// modules applications import from client/js): requests, errors
// (HeraldError) and the live tail's stream, with its exact resume, are the
// client's; this layer adds the signed-in key, messages that say what to
// do, and the events the header badge and sign-out follow.

import { Herald, HeraldError } from '../lib/herald/index.js';

const storageKey = 'herald.key';

/** key returns the signed-in key, or '' when signed out. */
export function key() {
  return sessionStorage.getItem(storageKey) ?? '';
}

export function setKey(k) {
  sessionStorage.setItem(storageKey, k);
}

export function clearKey() {
  sessionStorage.removeItem(storageKey);
}

/** keyID is the public half of a token (hk_<id>_<secret>). */
export function keyID(token = key()) {
  const m = /^hk_([0-9a-f]{16})_/.exec(token);
  return m ? m[1] : '';
}

/**
 * subject is the "sub" of an app-signed token (a JWT), read without
 * checking it (herald does that), or '' for anything else.
 */
export function subject(token = key()) {
  const parts = token.split('.');
  if (parts.length !== 3) return '';
  try {
    const bin = atob(parts[1].replace(/-/g, '+').replace(/_/g, '/'));
    const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
    return typeof claims.sub === 'string' ? claims.sub : '';
  } catch {
    return '';
  }
}

/** signedInAs names the signed-in credential: "key <id>" or "token <sub>". */
export function signedInAs(token = key()) {
  const sub = subject(token);
  return sub ? `token ${sub}` : `key ${keyID(token) || '(unknown id)'}`;
}

export { HeraldError };

/**
 * watched is the fetch the client uses: each request that got no answer,
 * or any answer, tells the header badge whether herald is reachable.
 */
async function watched(input, init) {
  try {
    const res = await fetch(input, init);
    reachability(true);
    return res;
  } catch (e) {
    if (!init?.signal?.aborted) reachability(false);
    throw e;
  }
}

let client = null; // the Herald of the signed-in key

/** herald is the client for token (by default the signed-in key). */
export function herald(token) {
  if (token !== undefined) return new Herald({ key: token, fetch: watched, retries: 0 });
  if (client?.key !== key()) client = new Herald({ key: key(), fetch: watched, retries: 0 });
  return client;
}

// advice says what to do about an error status, appended to its message.
const advice = {
  400: 'Check the values entered.',
  401: 'Sign in again with a valid key.',
  403: 'This key may not do that: sign in with the admin key, or a key whose scopes allow it.',
  404: 'It no longer exists: refresh the list.',
  409: 'Refresh and try again.',
  429: 'Wait a moment and try again.',
  503: 'herald or its engine is unavailable: it retries by itself; try again shortly.',
};

/**
 * explain makes a HeraldError's message say what to do (the client's
 * message says what happened) and tells the app when the key stopped
 * working. It returns err.
 */
export function explain(err, { noAuthEvent = false } = {}) {
  if (!(err instanceof HeraldError) || err.explained) return err;
  err.explained = true;
  if (err.status === 0) {
    err.message = 'herald did not answer: it may be down or restarting. The console retries by itself; check the server if this lasts.';
    return err;
  }
  if (err.status === 401 && !noAuthEvent) unauthorized();
  if (err.status === 429 && err.retryAfter !== undefined) err.message += ` (retry after ${Math.ceil(err.retryAfter / 1000)} s)`;
  const hint = advice[err.status] ?? (err.status >= 500 ? advice[503] : '');
  if (hint) err.message += `. ${hint}`;
  return err;
}

/**
 * unauthorized tells the app that the key stopped working (revoked, or the
 * data directory was reset): it signs out.
 */
function unauthorized() {
  window.dispatchEvent(new CustomEvent('herald:unauthorized'));
}

/** reachability tells the header badge whether herald answered at all. */
function reachability(ok) {
  window.dispatchEvent(new CustomEvent('herald:reachable', { detail: ok }));
}

/**
 * api calls path and returns the parsed JSON answer (null for 204).
 * options: method, body (an object, sent as JSON, or a string of JSON sent
 * as is), signal, token (instead of the signed-in key), noAuthEvent (do
 * not sign out on 401: login uses it to check a key).
 */
export async function api(path, { method = 'GET', body, signal, token, noAuthEvent = false } = {}) {
  const raw = typeof body === 'string';
  try {
    const out = await herald(token).request(method, path, { body: raw ? undefined : body, rawBody: raw ? body : undefined, signal });
    return out ?? null;
  } catch (e) {
    throw explain(e, { noAuthEvent });
  }
}

/**
 * stream follows the log with the client's Stream (exact resume across
 * reconnections); o are the client's StreamOptions.
 */
export function stream(o) {
  return herald().stream(o);
}

const enc = encodeURIComponent;

/**
 * readiness asks GET /readyz (no key needed) and returns {ok, reachable,
 * text, error}. A plain fetch: the badge asks it, so it must not also be
 * one of the requests that tell the badge.
 */
export async function readiness(signal) {
  try {
    const res = await fetch('/readyz', { signal, cache: 'no-store' });
    const body = await res.json().catch(() => ({}));
    return { ok: res.ok, reachable: true, text: body.status ?? `HTTP ${res.status}`, error: body.error ?? '' };
  } catch (e) {
    if (signal?.aborted) throw e;
    return { ok: false, reachable: false, text: 'unreachable', error: String(e.message ?? e) };
  }
}

/** config is /console/config.json: what the server says about itself (no secret). */
export async function config() {
  try {
    const res = await fetch('config.json', { cache: 'no-store' });
    return res.ok ? await res.json() : {};
  } catch {
    return {};
  }
}

// The native API and the operator endpoints.
export const listSubscriptions = (opts) => api('/v1/subscriptions', opts);
export const putSubscription = (name, body) => api(`/v1/subscriptions/${enc(name)}`, { method: 'PUT', body });
export const deleteSubscription = (name) => api(`/v1/subscriptions/${enc(name)}`, { method: 'DELETE' });
export const fetchSubscription = (name, limit) => api(`/v1/subscriptions/${enc(name)}/events?limit=${limit}`);
export const ackSubscription = (name, batch) => api(`/v1/subscriptions/${enc(name)}/ack`, { method: 'POST', body: { batch } });
export const publish = (event) => api('/v1/events', { method: 'POST', body: event });
export const listKeys = (opts) => api('/v1/keys', opts);
export const createKey = (spec) => api('/v1/keys', { method: 'POST', body: spec });
export const revokeKey = (id) => api(`/v1/keys/${enc(id)}`, { method: 'DELETE' });
export const cluster = (signal) => api('/v1/cluster', { signal });
export const statsHistory = (since, signal) => api(`/v1/stats/history${since ? `?since=${since}` : ''}`, { signal });
export const listFaults = (signal) => api('/v1/faults', { signal });
export const addFault = (spec) => api('/v1/faults', { method: 'POST', body: spec });
export const deleteFault = (id) => api(`/v1/faults/${enc(id)}`, { method: 'DELETE' });
export const clearFaults = () => api('/v1/faults', { method: 'DELETE' });
export const listRoutes = (signal) => api('/v1/routes', { signal });
export const addRoute = (spec) => api('/v1/routes', { method: 'POST', body: spec });
export const removeRoute = (name) => api(`/v1/routes/${enc(name)}`, { method: 'DELETE' });
export const testRoute = (name, seq) => api(`/v1/routes/${enc(name)}/test`, { method: 'POST', body: { seq } });
export const listWebhooks = (signal) => api('/v1/webhooks', { signal });
export const createWebhook = (spec) => api('/v1/webhooks', { method: 'POST', body: spec });
export const deleteWebhook = (id) => api(`/v1/webhooks/${enc(id)}`, { method: 'DELETE' });
export const webhookAttempts = (id, signal) => api(`/v1/webhooks/${enc(id)}/attempts`, { signal });
export const replayWebhook = (id, after) => api(`/v1/webhooks/${enc(id)}/replay`, { method: 'POST', body: { after } });
export const listConnectors = (signal) => api('/v1/connectors', { signal });
export const putConnector = (spec) => api('/v1/connectors', { method: 'POST', body: spec });
export const deleteConnector = (name) => api(`/v1/connectors/${enc(name)}`, { method: 'DELETE' });

// The dialects' admin endpoints.
export const hueResources = (signal) => api('/v1/hue/resources', { signal });
export const hueProducts = () => api('/v1/hue/products');
export const hueAddDevice = (product, name) => api('/v1/hue/devices', { method: 'POST', body: { product, name } });
export const huePress = (button, action) => api('/v1/hue/press', { method: 'POST', body: { button, action } });
export const hueRotate = (device, steps) => api('/v1/hue/rotate', { method: 'POST', body: { device, steps } });
export const hueSensor = (reading) => api('/v1/hue/sensor', { method: 'POST', body: reading });
export const hueLink = () => api('/v1/hue/link', { method: 'POST' });
export const zulipUsers = (signal) => api('/v1/zulip/users', { signal });
export const zulipAddUser = (email, fullName) => api('/v1/zulip/users', { method: 'POST', body: { email, full_name: fullName } });
export const zulipStreams = (signal) => api('/v1/zulip/streams', { signal });
export const zulipAddStream = (name, description) => api('/v1/zulip/streams', { method: 'POST', body: { name, description } });
export const zulipQueues = (signal) => api('/v1/zulip/queues', { signal });
export const jetstreamUsers = (signal) => api('/v1/jetstream/users', { signal });
export const jetstreamAddUser = (name, devices) => api('/v1/jetstream/users', { method: 'POST', body: { name, devices } });
export const jetstreamSimulate = (req) => api('/v1/jetstream/simulate', { method: 'POST', body: req });
export const plexCreateToken = (name) => api('/v1/plex/tokens', { method: 'POST', body: { name } });
export const plexScan = (req) => api('/v1/plex/simulate/scan', { method: 'POST', body: req });
export const plexPlay = (req) => api('/v1/plex/simulate/play', { method: 'POST', body: req });

