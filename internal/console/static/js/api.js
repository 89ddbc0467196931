// Calls to herald's API with the signed-in key.
//
// The key lives in sessionStorage: it survives a reload of the tab but not
// the tab itself, is never sent by the browser on its own (unlike a cookie,
// so no cross-site request can use it), and is sent only as an
// Authorization header, so it never appears in a URL, a log or a Referer.

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

/**
 * authHeaders are the headers every call carries; token defaults to the
 * signed-in key (login checks a candidate key before storing it).
 */
export function authHeaders(token = key()) {
  return { Authorization: `Bearer ${token}` };
}

/** errorFrom turns a failed response into an ApiError. */
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
  return new ApiError(res.status, err.code, message, body);
}

/**
 * unauthorized tells the app that the key stopped working (revoked, or the
 * data directory was reset): it signs out.
 */
function unauthorized() {
  window.dispatchEvent(new CustomEvent('herald:unauthorized'));
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
  const res = await fetch(path, { method, headers, body: payload, signal, cache: 'no-store' });
  if (!res.ok) {
    if (res.status === 401 && !noAuthEvent) unauthorized();
    throw await errorFrom(res);
  }
  if (res.status === 204) return null;
  return res.json();
}

/** readiness asks GET /readyz (no key needed) and returns {ok, text}. */
export async function readiness(signal) {
  try {
    const res = await fetch('/readyz', { signal, cache: 'no-store' });
    const body = await res.json().catch(() => ({}));
    return { ok: res.ok, text: body.status ?? `HTTP ${res.status}`, error: body.error ?? '' };
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    return { ok: false, text: 'unreachable', error: String(e.message ?? e) };
  }
}

export { unauthorized as signalUnauthorized };
