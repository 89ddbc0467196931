// A Server-Sent Events client over fetch().
//
// EventSource cannot set an Authorization header, and putting the key in the
// URL would leave it in logs and history; so the console reads
// GET /v1/stream with fetch() and parses the text/event-stream body itself.
// It does what EventSource does — reconnect after the server's retry hint,
// sending Last-Event-ID — so the tail resumes exactly after the last event
// it showed: a restart of herald, or a moment offline, loses nothing and
// shows nothing twice.

import { authHeaders, errorFrom, signalReachability, signalUnauthorized } from './api.js';

// herald sends a comment every 15 s on an idle stream; with nothing at all
// for this long the connection is dead (a proxy or network dropped it
// without closing) and is replaced.
const silenceLimit = 40_000;
const maxRetry = 30_000;

/** parseSSE is an incremental text/event-stream parser (WHATWG HTML §9.2.6). */
export class SSEParser {
  constructor() {
    this.buf = '';
    this.data = [];
    this.type = '';
    this.id = null;
    this.retry = null;
  }

  /** push feeds decoded text and returns the events it completed. */
  push(text) {
    this.buf += text;
    const out = [];
    let start = 0;
    for (;;) {
      const nl = this.buf.slice(start).search(/\r\n|\r|\n/);
      if (nl < 0) break;
      const end = start + nl;
      // A lone \r at the very end may be half of \r\n: wait for more.
      if (this.buf[end] === '\r' && end + 1 === this.buf.length) break;
      const line = this.buf.slice(start, end);
      start = end + (this.buf.startsWith('\r\n', end) ? 2 : 1);
      const ev = this.line(line);
      if (ev) out.push(ev);
    }
    this.buf = this.buf.slice(start);
    return out;
  }

  line(line) {
    if (line === '') {
      if (this.data.length === 0) {
        this.type = '';
        return null;
      }
      const ev = { type: this.type || 'message', data: this.data.join('\n'), id: this.id };
      this.data = [];
      this.type = '';
      this.id = null;
      return ev;
    }
    if (line.startsWith(':')) return null; // a comment: keep-alive
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data': this.data.push(value); break;
      case 'event': this.type = value; break;
      case 'id': if (!value.includes('\0')) this.id = value; break;
      case 'retry': if (/^\d+$/.test(value)) this.retry = Number(value); break;
    }
    return null;
  }
}

/**
 * EventStream follows GET /v1/stream from a position and reconnects until
 * stopped. Callbacks:
 *   onEvents(events)   native events ({seq,id,time,topic,type,data}), in order
 *   onState(state, detail)  'connecting' | 'live' | 'reconnecting' (detail: ms, error) | 'stopped' | 'failed' (detail: error)
 *   onReset({after, earliest})  the position is older than retention; the stream has stopped
 */
export class EventStream {
  constructor({ topics = '', onEvents, onState = () => {}, onReset = () => {} }) {
    this.topics = topics;
    this.onEvents = onEvents;
    this.onState = onState;
    this.onReset = onReset;
    this.position = null; // the seq of the last event shown, or where "now" was
    this.controller = null;
  }

  /** start follows the stream after `after` (a seq), or from now when null. */
  start(after = null) {
    this.stop();
    this.position = after;
    const controller = new AbortController();
    this.controller = controller;
    this.run(controller.signal).catch((e) => {
      if (controller.signal.aborted) return;
      this.controller = null;
      this.onState('failed', e);
    });
  }

  /** stop closes the stream; position stays where it was, for a resume. */
  stop() {
    if (!this.controller) return;
    this.controller.abort();
    this.controller = null;
    this.onState('stopped');
  }

  get running() {
    return this.controller !== null;
  }

  /** query builds the query string of a read: topics, after and more. */
  query(after, more = {}) {
    const q = new URLSearchParams(more);
    if (this.topics) q.set('topics', this.topics);
    if (after !== null) q.set('after', String(after));
    return q.toString();
  }

  async run(signal) {
    this.onState('connecting');
    if (this.position === null) {
      // "From now" must be a number before the first connection: if that
      // connection dropped before any event came, a reconnect "from now"
      // would skip what was published in between. A long-poll without
      // `after` answers where now is (and anything appended meanwhile).
      const res = await fetch(`/v1/events?${this.query(null, { limit: 1000 })}`, { headers: authHeaders(), signal, cache: 'no-store' });
      if (!res.ok) throw await this.fail(res);
      const page = await res.json();
      if (page.events.length) this.onEvents(page.events);
      this.position = page.next;
    }
    let retry = 2000;
    let delay = retry;
    while (!signal.aborted) {
      let err = null;
      try {
        const serverRetry = await this.connect(signal);
        if (serverRetry !== null) retry = serverRetry;
        delay = retry; // it was up: start the back-off over
      } catch (e) {
        if (signal.aborted) return;
        if (e.fatal) throw e;
        if (e.reset) {
          this.controller = null;
          this.onReset(e.reset);
          return;
        }
        err = e;
      }
      if (signal.aborted) return;
      this.onState('reconnecting', { delay, error: err });
      await sleep(delay, signal);
      delay = Math.min(delay * 2, maxRetry);
    }
  }

  /** fail turns an error answer into a thrown error; 4xx other than 429 is fatal. */
  async fail(res) {
    if (res.status === 401) signalUnauthorized();
    const err = await errorFrom(res);
    err.fatal = res.status >= 400 && res.status < 500 && res.status !== 429;
    return err;
  }

  /**
   * connect reads one connection to its end. It resolves with the server's
   * retry hint when the server ended the stream (a shutdown), throws on a
   * network error, an error answer, or a reset.
   */
  async connect(signal) {
    const conn = new AbortController();
    const abort = () => conn.abort();
    signal.addEventListener('abort', abort, { once: true });
    let silence = 0;
    const watch = () => {
      clearTimeout(silence);
      silence = setTimeout(() => conn.abort(), silenceLimit);
    };
    try {
      const headers = { ...authHeaders(), Accept: 'text/event-stream' };
      // What EventSource sends on a reconnect; herald resumes after it.
      headers['Last-Event-ID'] = String(this.position);
      watch();
      const res = await fetch(`/v1/stream?${this.query(this.position)}`, { headers, signal: conn.signal, cache: 'no-store' })
        .catch((e) => {
          if (!signal.aborted) signalReachability(false);
          throw e;
        });
      signalReachability(true);
      if (!res.ok) throw await this.fail(res);
      this.onState('live');
      const parser = new SSEParser();
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        watch();
        const batch = [];
        for (const ev of parser.push(value)) {
          if (ev.type === 'reset') {
            const info = JSON.parse(ev.data);
            throw Object.assign(new Error('position expired'), { reset: info });
          }
          if (ev.id === null) continue;
          const e = JSON.parse(ev.data);
          this.position = e.seq;
          batch.push(e);
        }
        if (batch.length) this.onEvents(batch);
      }
      return parser.retry;
    } finally {
      clearTimeout(silence);
      signal.removeEventListener('abort', abort);
    }
  }
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}
