// Herald: one server, one key. Requests, retries and the native API's
// endpoints; live reads are Streams (stream.js) over the transports.

import { HeraldError, fromResponse, networkError } from './errors.js';
import { Stream, nextBackoff, sleep } from './stream.js';
import { openSSE, openWS } from './transports.js';

/** MaxPublish is the most events one publish may carry (the body is also limited to 1 MiB). */
export const MaxPublish = 1000;

/** newId returns a random (version 4) UUID, for an event id that makes a retry safe. */
export function newId() {
  // Not crypto.randomUUID: browsers offer it only in secure contexts.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * afterParam turns a read's {after, start} into the after parameter:
 * a number (events after it), 'earliest', or undefined (now).
 * @param {{after?: number, start?: 'now' | 'earliest' | number}} o
 * @returns {number | 'earliest' | undefined}
 */
export function afterParam(o) {
  if (o.after !== undefined && o.start !== undefined) throw new TypeError('give after or start, not both');
  if (o.after !== undefined) {
    if (!Number.isSafeInteger(o.after) || o.after < 0) throw new TypeError(`after: ${o.after} is not a position`);
    return o.after;
  }
  const s = o.start ?? 'now';
  if (s === 'now') return undefined;
  if (s === 'earliest') return 'earliest';
  if (!Number.isSafeInteger(s) || s < 1) throw new TypeError(`start: ${s} is not 'now', 'earliest' or a seq ≥ 1`);
  return s - 1;
}

/** waitParam writes milliseconds as the duration the server reads. */
function waitParam(ms) {
  return ms === undefined ? undefined : `${Math.max(0, Math.round(ms))}ms`;
}

export class Herald {
  #fetch;

  /**
   * @param {import('../index.js').HeraldOptions} [o]
   */
  constructor(o = {}) {
    const base = o.url ?? globalThis.location?.origin;
    if (!base) throw new TypeError('url is required outside a browser page');
    // Caught here: a stream would otherwise retry a URL fetch cannot use
    // for ever, as if the server were down.
    if (!/^https?:\/\/[^/]/i.test(String(base))) throw new TypeError(`url ${base}: not http:// or https://`);
    /** The base URL, without a trailing slash. */
    this.base = String(base).replace(/\/+$/, '');
    /** The key sent as Authorization: Bearer (or access_token where asked). */
    this.key = o.key ?? '';
    this.WebSocket = o.WebSocket;
    this.retries = o.retries ?? 3;
    this.maxRetryDelay = o.maxRetryDelay ?? 30_000;
    this.onRetry = o.onRetry;
    this.#fetch = o.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /**
   * url builds the URL of path with the query's defined values (arrays
   * joined with commas).
   * @param {string} path
   * @param {Record<string, unknown>} [query]
   */
  url(path, query = {}) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) continue;
      q.set(k, Array.isArray(v) ? v.join(',') : String(v));
    }
    const s = q.toString();
    return this.base + path + (s ? '?' + s : '');
  }

  /**
   * fetchRaw sends one request and returns the response, whatever its
   * status; a request that got no answer rejects with a HeraldError of
   * status 0.
   * @param {string} path
   * rawBody is JSON text sent as it is, instead of body: for numbers a
   * JavaScript number cannot hold, which JSON.stringify would round.
   * @param {{method?: string, query?: Record<string, unknown>, body?: unknown, rawBody?: string,
   *   headers?: Record<string, string>, signal?: AbortSignal, bearer?: boolean}} [o]
   */
  async fetchRaw(path, o = {}) {
    /** @type {Record<string, string>} */
    const headers = { Accept: 'application/json', ...o.headers };
    if (this.key && o.bearer !== false) headers.Authorization = 'Bearer ' + this.key;
    let body = o.rawBody;
    if (body === undefined && o.body !== undefined) body = JSON.stringify(o.body);
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const method = o.method ?? 'GET';
    try {
      return await this.#fetch(this.url(path, o.query), { method, headers, body, signal: o.signal, cache: 'no-store' });
    } catch (err) {
      if (o.signal?.aborted) throw o.signal.reason ?? err;
      throw networkError(`${method} ${path}`, err);
    }
  }

  /**
   * request sends a request and returns the decoded JSON answer (undefined
   * for 204). Any status of 400 or more rejects with a HeraldError. With
   * retry, a 429, a 503 or no answer is tried again, up to `retries` times,
   * after the server's Retry-After (or a backoff); a wait longer than
   * maxRetryDelay is not waited for.
   * @param {string} method
   * @param {string} path
   * @param {{query?: Record<string, unknown>, body?: unknown, rawBody?: string, signal?: AbortSignal, retry?: boolean}} [o]
   */
  async request(method, path, o = {}) {
    let delay = 0;
    for (let attempt = 0; ; attempt++) {
      let err;
      try {
        const resp = await this.fetchRaw(path, { method, query: o.query, body: o.body, rawBody: o.rawBody, signal: o.signal });
        if (resp.ok) {
          if (resp.status === 204) return undefined;
          const text = await resp.text();
          try {
            return text === '' ? undefined : JSON.parse(text);
          } catch {
            throw new HeraldError(`${method} ${path}: the answer is not JSON (${resp.status})`, { status: resp.status, code: 'protocol' });
          }
        }
        err = await fromResponse(resp);
      } catch (e) {
        if (!(e instanceof HeraldError)) throw e;
        err = e;
      }
      const retryable = err.status === 0 || err.status === 429 || err.status === 503;
      if (!o.retry || !retryable || attempt >= this.retries) throw err;
      delay = nextBackoff(delay);
      const wait = Math.max(delay, err.retryAfter ?? 0);
      if (wait > this.maxRetryDelay) throw err;
      this.onRetry?.(err, wait);
      await sleep(wait, o.signal);
      if (o.signal?.aborted) throw o.signal.reason;
    }
  }

  /**
   * publish appends events to the log, in order, in one request, and
   * resolves once the server stored them durably: one ack for one event,
   * an array of acks for an array. Events without an id get one, so a
   * retry (after a 429, a 503 or no answer) cannot store one twice.
   * @param {import('../index.js').Draft | import('../index.js').Draft[]} events
   * @param {{signal?: AbortSignal}} [o]
   */
  async publish(events, o = {}) {
    const one = !Array.isArray(events);
    const list = one ? [events] : events;
    if (list.length === 0) return [];
    if (list.length > MaxPublish) throw new TypeError(`${list.length} events; at most ${MaxPublish} per publish`);
    const body = list.map((e) => ({ ...e, id: e.id ?? newId() }));
    const out = await this.request('POST', '/v1/events', { body, signal: o.signal, retry: true });
    const acks = out?.events;
    if (!Array.isArray(acks) || acks.length !== list.length) {
      throw new HeraldError(`publish: ${acks?.length ?? 0} acks for ${list.length} events`, { status: 201, code: 'protocol' });
    }
    return one ? acks[0] : acks;
  }

  /**
   * poll reads matching events after a position (GET /v1/events): at once,
   * or waiting up to `wait` ms for one. `next` is where to continue.
   * @param {import('../index.js').PollOptions} [o]
   * @returns {Promise<{events: import('../index.js').Event[], next: number}>}
   */
  async poll(o = {}) {
    const query = { topics: o.topics, after: afterParam(o), limit: o.limit, wait: waitParam(o.wait) };
    return this.request('GET', '/v1/events', { query, signal: o.signal, retry: true });
  }

  /**
   * stream follows the log over Server-Sent Events with exact resume.
   * @param {import('../index.js').StreamOptions} [o]
   * @returns {import('./stream.js').Stream}
   */
  stream(o = {}) {
    return this.#follow(o, (after, signal) => openSSE(this, o, after, signal));
  }

  /**
   * websocket follows the log over the native WebSocket (GET /v1/ws),
   * with the same resume and reset as stream.
   * @param {import('../index.js').WebSocketOptions} [o]
   */
  websocket(o = {}) {
    return this.#follow(o, (after, signal) => openWS(this, o, after, signal));
  }

  #follow(o, open) {
    const s = new Stream({
      open,
      now: async (signal) => (await this.poll({ topics: o.topics, limit: 1, signal })).next,
      after: afterParam(o),
      onRetry: o.onRetry,
      onOpen: o.onOpen,
      signal: o.signal,
    });
    if (o.onEvent) {
      const done = s.run(o.onEvent, o.onReset);
      // Without onError, the caller is to await s.done: a failure left
      // unhandled there is reported, not swallowed.
      if (o.onError) done.catch(o.onError);
    }
    return s;
  }

  /**
   * putSubscription creates the key's subscription called name, or changes
   * the topics of the one it has (its position stays).
   * @param {string} name
   * @param {{topics?: string[], start?: 'new' | 'earliest' | number}} [spec]
   */
  putSubscription(name, spec = {}) {
    const body = { topics: spec.topics ?? [] };
    if (spec.start !== undefined) body.start = String(spec.start);
    return this.request('PUT', subPath(name), { body });
  }

  /** getSubscription returns the subscription called name (404 if the key has none). */
  getSubscription(name, o = {}) {
    return this.request('GET', subPath(name), { signal: o.signal, retry: true });
  }

  /** listSubscriptions returns the key's subscriptions (every one, for an admin key). */
  async listSubscriptions(o = {}) {
    return (await this.request('GET', '/v1/subscriptions', { signal: o.signal, retry: true })).subscriptions;
  }

  /** deleteSubscription deletes the subscription called name. */
  async deleteSubscription(name) {
    await this.request('DELETE', subPath(name));
  }

  /**
   * fetchBatch returns the subscription's pending batch: up to limit of the
   * oldest unacknowledged events under a batch id (null when none is
   * pending after waiting up to `wait` ms). The same batch comes back until
   * it is acknowledged. With `ack` (a batch id) that batch is acknowledged
   * first, in the same request: a consumer's loop; sent again (a retry),
   * it finds the batch acknowledged and returns the same next batch.
   * @param {string} name
   * @param {{limit?: number, wait?: number, ack?: string, signal?: AbortSignal}} [o]
   * @returns {Promise<{batch: string | null, events: import('../index.js').Event[]}>}
   */
  fetchBatch(name, o = {}) {
    return this.request('GET', subPath(name) + '/events', {
      query: { limit: o.limit, wait: waitParam(o.wait), ack: o.ack }, signal: o.signal, retry: true,
    });
  }

  /** ack acknowledges the batch with id batch (409 batch_not_pending if it is not the pending one). */
  ack(name, batch) {
    return this.request('POST', subPath(name) + '/ack', { body: { batch } });
  }

  /** ackUpTo acknowledges every event up to and including seq. */
  ackUpTo(name, seq) {
    return this.request('POST', subPath(name) + '/ack', { body: { upto: seq } });
  }

  /**
   * createKey makes an API key (admin key required); the token is in the
   * answer only.
   * @param {{name: string, publish?: string[], subscribe?: string[], admin?: boolean, rate?: number}} spec
   */
  createKey(spec) {
    return this.request('POST', '/v1/keys', { body: spec });
  }

  /** listKeys lists the API keys (admin key required). */
  async listKeys() {
    return (await this.request('GET', '/v1/keys', { retry: true })).keys;
  }

  /** revokeKey revokes the key with id (admin key required). */
  async revokeKey(id) {
    await this.request('DELETE', '/v1/keys/' + encodeURIComponent(id));
  }
}

function subPath(name) {
  return '/v1/subscriptions/' + encodeURIComponent(name);
}
