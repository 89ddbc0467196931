// Every call the console makes to herald, with the signed-in key.
//
// The key lives in sessionStorage: it survives a reload of the tab but not
// the tab itself, is never sent by the browser on its own (unlike a cookie,
// so no cross-site request can use it), and is sent only as an
// Authorization header, so it never appears in a URL, a log or a Referer.
//
// Panels call the named functions below, never fetch() themselves, so that
// the console can later move onto herald's JavaScript client in one place.
// (The live tail's stream is read by sse.js, which takes its headers from
// here.)

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

/** ApiError is a non-2xx answer: status plus herald's {"error":{code,message}}. */
export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.code = code || '';
    this.body = body;
  }
}

/** NetworkError is a request that got no answer: herald is down or unreachable. */
export class NetworkError extends Error {}

/**
 * authHeaders are the headers every call carries; token defaults to the
 * signed-in key (login checks a candidate key before storing it).
 */
export function authHeaders(token = key()) {
  return { Authorization: `Bearer ${token}` };
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

/** errorFrom turns a failed response into an ApiError whose message says what to do. */
export async function errorFrom(res) {
  let body = null;
  try {
    body = await res.json();
  } catch {
    // not JSON (a proxy's page, say): the status says enough
  }
  const err = body?.error ?? {};
  let message = err.message || `${res.status} ${res.statusText}`;
  if (res.status === 429 && res.headers.get('Retry-After')) {
    message += ` (retry after ${res.headers.get('Retry-After')} s)`;
  }
  const hint = advice[res.status] ?? (res.status >= 500 ? advice[503] : '');
  if (hint) message += `. ${hint}`;
  return new ApiError(res.status, err.code, message, body);
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
 * options: method, body (an object, sent as JSON, or a string sent as is),
 * signal, token (instead of the signed-in key), noAuthEvent (do not sign out
 * on 401: login uses it to check a key).
 */
export async function api(path, { method = 'GET', body, signal, token, noAuthEvent = false } = {}) {
  const headers = authHeaders(token);
  let payload;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = typeof body === 'string' ? body : JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body: payload, signal, cache: 'no-store' });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    reachability(false);
    throw new NetworkError('herald did not answer: it may be down or restarting. The console retries by itself; check the server if this lasts.');
  }
  reachability(true);
  if (!res.ok) {
    if (res.status === 401 && !noAuthEvent) unauthorized();
    throw await errorFrom(res);
  }
  if (res.status === 204) return null;
  return res.json();
}

const enc = encodeURIComponent;

/** readiness asks GET /readyz (no key needed) and returns {ok, reachable, text, error}. */
export async function readiness(signal) {
  try {
    const res = await fetch('/readyz', { signal, cache: 'no-store' });
    const body = await res.json().catch(() => ({}));
    return { ok: res.ok, reachable: true, text: body.status ?? `HTTP ${res.status}`, error: body.error ?? '' };
  } catch (e) {
    if (e.name === 'AbortError') throw e;
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
export const clearFaults = () => api('/v1/faults', { method: 'DELETE' });

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

export { unauthorized as signalUnauthorized, reachability as signalReachability };
