// The two live transports a Stream reconnects over: Server-Sent Events
// read with fetch (GET /v1/stream), and WebSocket (GET /v1/ws). Each opens
// one connection at a position and turns what the server sends into Items.

import { HeraldError, fromResponse, networkError } from './errors.js';
import { SSEParser } from './sse.js';

// idleTimeout replaces a connection that delivered nothing, not even the
// keep-alive comment the server sends every 15 s, for this long: a
// half-open TCP connection would otherwise hang the Stream forever.
export const idleTimeout = 45_000;

/** protocolError: an answer that is not herald's stream; retrying would get it again. */
function protocolError(msg, status = 0) {
  return new HeraldError(msg, { status, code: 'protocol' });
}

/**
 * decodeEvent parses one event's JSON; undefined if it is not an event.
 * @returns {import('../index.js').Event | undefined}
 */
function decodeEvent(text) {
  let ev;
  try {
    ev = JSON.parse(text);
  } catch {
    return undefined;
  }
  return ev && typeof ev === 'object' && Number.isSafeInteger(ev.seq) ? ev : undefined;
}

/**
 * linked returns a controller aborted when signal is, and a function that
 * stops following signal.
 * @param {AbortSignal} signal
 */
function linked(signal) {
  const ctrl = new AbortController();
  const abort = () => ctrl.abort(signal.reason);
  if (signal.aborted) abort();
  signal.addEventListener('abort', abort, { once: true });
  return { ctrl, unlink: () => signal.removeEventListener('abort', abort) };
}

/**
 * openSSE opens GET /v1/stream after a position.
 * @param {import('./client.js').Herald} h
 * @param {{topics?: string[], accessToken?: boolean}} o
 * @param {number | 'earliest'} after
 * @param {AbortSignal} signal  the Stream's lifetime
 * @returns {Promise<import('./stream.js').Connection>}
 */
export async function openSSE(h, o, after, signal) {
  const { ctrl, unlink } = linked(signal);
  const query = { topics: o.topics, after };
  const headers = { Accept: 'text/event-stream', 'Cache-Control': 'no-cache' };
  // The SSE resume header; the after parameter carries the same position
  // in case something on the way drops the header.
  if (typeof after === 'number') headers['Last-Event-ID'] = String(after);
  if (o.accessToken) query.access_token = h.key;
  let resp;
  try {
    resp = await h.fetchRaw('/v1/stream', { query, headers, signal: ctrl.signal, bearer: !o.accessToken });
  } catch (err) {
    unlink();
    throw err;
  }
  if (!resp.ok) {
    unlink();
    throw await fromResponse(resp);
  }
  const type = (resp.headers.get('Content-Type') ?? '').split(';')[0].trim();
  if (type !== 'text/event-stream' || !resp.body) {
    unlink();
    ctrl.abort();
    throw protocolError(`stream answered with content type "${type}", not text/event-stream`, resp.status);
  }
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new SSEParser();
  /** @type {import('./sse.js').SSEMessage[]} */
  const queue = [];
  let idle = false;
  return {
    async next() {
      for (;;) {
        const m = queue.shift();
        if (m) {
          // The reset control event has no id; an ordinary event whose
          // type happens to be "reset" has one.
          if (m.event === 'reset' && m.id === undefined) {
            try {
              return { type: 'reset', reset: JSON.parse(m.data) };
            } catch {
              return { type: 'fail', error: protocolError(`reset event with unreadable data: ${m.data.slice(0, 100)}`) };
            }
          }
          const event = decodeEvent(m.data);
          if (!event) return { type: 'fail', error: protocolError(`event ${m.id ?? ''} is not an event: ${m.data.slice(0, 100)}`) };
          return { type: 'event', event };
        }
        const timer = setTimeout(() => {
          idle = true;
          ctrl.abort();
        }, idleTimeout);
        let r;
        try {
          r = await reader.read();
        } catch (error) {
          return { type: 'end', error: idle ? networkError('stream', `nothing for ${idleTimeout / 1000} s, not even a keep-alive`) : error };
        } finally {
          clearTimeout(timer);
        }
        if (r.done) {
          return { type: 'end', error: new Error(parser.inEvent ? 'the stream was cut inside an event' : 'the server ended the stream') };
        }
        try {
          queue.push(...parser.push(r.value));
        } catch (error) {
          return { type: 'fail', error: protocolError(String(error?.message ?? error)) };
        }
      }
    },
    close() {
      unlink();
      ctrl.abort();
    },
  };
}

/**
 * openWS opens GET /v1/ws after a position. A browser's WebSocket cannot
 * send headers, so the key travels as access_token (the server accepts it
 * on this route only). A refused handshake shows no status to a WebSocket,
 * so the same read is then asked as a long-poll to learn why.
 * @param {import('./client.js').Herald} h
 * @param {{topics?: string[], WebSocket?: any}} o
 * @param {number | 'earliest'} after
 * @param {AbortSignal} signal
 * @returns {Promise<import('./stream.js').Connection>}
 */
export async function openWS(h, o, after, signal) {
  const WS = o.WebSocket ?? h.WebSocket ?? globalThis.WebSocket;
  if (typeof WS !== 'function') {
    throw protocolError('no WebSocket here: pass a WebSocket constructor (Node 20: the ws package, or run node with --experimental-websocket)');
  }
  const url = new URL(h.url('/v1/ws', { topics: o.topics, after, access_token: h.key }));
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WS(url.href);
  /** @type {import('./stream.js').Item[]} */
  const queue = [];
  /** @type {((item: import('./stream.js').Item) => void) | null} */
  let waiter = null;
  let ended = false;
  const push = (item) => {
    if (ended) return;
    if (item.type !== 'event') ended = true;
    if (waiter) {
      const w = waiter;
      waiter = null;
      w(item);
    } else {
      queue.push(item);
    }
  };
  const opened = new Promise((resolve, reject) => {
    ws.onopen = () => resolve(undefined);
    ws.onerror = () => reject(new Error('handshake failed'));
    ws.onclose = () => reject(new Error('handshake failed'));
  });
  const onAbort = () => ws.close();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await opened;
  } catch {
    signal.removeEventListener('abort', onAbort);
    if (signal.aborted) throw networkError('websocket', 'closed');
    // Ask the same question as a long-poll: 401, 403, 400, 410 and 409
    // come back as what they are; a poll that works means the failure
    // was the connection's.
    await h.poll({ topics: o.topics, ...(after === 'earliest' ? { start: 'earliest' } : { after }), limit: 1, signal });
    throw networkError('websocket', 'the handshake failed');
  }
  ws.onmessage = (/** @type {{data: unknown}} */ m) => {
    if (typeof m.data !== 'string') {
      push({ type: 'fail', error: protocolError('a binary WebSocket message') });
      return;
    }
    let v;
    try {
      v = JSON.parse(m.data);
    } catch {
      v = undefined;
    }
    if (v && typeof v === 'object' && v.reset && typeof v.reset === 'object' && v.seq === undefined) {
      push({ type: 'reset', reset: v.reset });
      return;
    }
    const event = decodeEvent(m.data);
    push(event ? { type: 'event', event } : { type: 'fail', error: protocolError(`not an event: ${m.data.slice(0, 100)}`) });
  };
  ws.onerror = () => {};
  ws.onclose = (/** @type {{code?: number, reason?: string}} */ e) => {
    push({ type: 'end', error: new Error(`the WebSocket closed (${e?.code ?? ''} ${e?.reason ?? ''})`.trim()) });
  };
  return {
    next() {
      const item = queue.shift();
      if (item) return Promise.resolve(item);
      if (ended) return Promise.resolve({ type: 'end', error: new Error('the WebSocket closed') });
      return new Promise((resolve) => {
        waiter = resolve;
      });
    },
    close() {
      signal.removeEventListener('abort', onAbort);
      push({ type: 'end', error: new Error('closed') });
      ws.close();
    },
  };
}
