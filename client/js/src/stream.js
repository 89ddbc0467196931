// Stream: a live read of the log that survives its connections. Each
// transport (SSE, WebSocket) opens connections at a position; the Stream
// owns the position, the backoff and the decision of what to do when the
// server says the position is not in the log.
//
// Ownership: the Stream owns at most one connection at a time (#conn) and
// closes it when it ends, is reset, resumes elsewhere or is closed. next()
// calls are serialized (#turn), so only one of them reads the connection.

import { HeraldError, isReset, resetError } from './errors.js';

// Reconnection policy: 100 ms doubling to 5 s, a longer Retry-After wins.
export const minBackoff = 100;
export const maxBackoff = 5000;

/**
 * @typedef {import('../index.js').Event} Event
 * @typedef {{type: 'event', event: Event} | {type: 'reset', reset: {after?: number, earliest?: number, last?: number}}
 *   | {type: 'end', error: unknown} | {type: 'fail', error: HeraldError}} Item
 * @typedef {{next(): Promise<Item>, close(): void}} Connection
 * @typedef {(after: number | 'earliest', signal: AbortSignal) => Promise<Connection>} Open
 */

/** nextBackoff doubles d within [minBackoff, maxBackoff]. */
export function nextBackoff(d) {
  return Math.min(Math.max(2 * d, minBackoff), maxBackoff);
}

/**
 * sleep waits ms, or until signal aborts (then it resolves early; the
 * caller checks the signal).
 */
export function sleep(ms, signal) {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(undefined);
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve(undefined);
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

export class Stream {
  #open;
  #now;
  #onRetry;
  #onOpen;
  #ctrl = new AbortController(); // the Stream's lifetime
  #external; // the caller's signal, and our listener on it
  #onAbort = () => this.close();
  /** @type {number | undefined} */ #position;
  /** @type {'now' | 'earliest' | undefined} */ #from;
  /** @type {Connection | null} */ #conn = null;
  #delay = 0; // the current backoff step
  #wait = 0; // sleep before the next connection attempt
  /** @type {unknown} */ #err = null; // sticky: a reset, or a failure retrying cannot cure
  /** @type {Promise<unknown>} */ #turn = Promise.resolve();
  /** @type {Promise<void> | undefined} */ #done;

  /**
   * @param {{open: Open, now: (signal: AbortSignal) => Promise<number>, after?: number | 'earliest',
   *   onRetry?: (err: unknown, waitMs: number) => void, onOpen?: (after: number | 'earliest') => void,
   *   signal?: AbortSignal}} o
   */
  constructor(o) {
    this.#open = o.open;
    this.#now = o.now;
    this.#onRetry = o.onRetry;
    this.#onOpen = o.onOpen;
    if (typeof o.after === 'number') this.#position = o.after;
    else this.#from = o.after ?? 'now';
    this.#external = o.signal;
    if (o.signal?.aborted) this.#ctrl.abort();
    o.signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /**
   * The seq of the last event handed over, or the position the Stream
   * started after (undefined while one started "now" or "earliest" has
   * not learned it). Resuming after it continues exactly where this
   * Stream stopped.
   */
  get position() {
    return this.#position;
  }

  /**
   * In callback mode (onEvent), the run's end: resolves when the Stream is
   * closed, rejects with what ended it otherwise. Undefined when iterated.
   * @returns {Promise<void> | undefined}
   */
  get done() {
    return this.#done;
  }

  /** Whether the Stream was closed (close(), or its signal aborted). */
  get closed() {
    return this.#ctrl.signal.aborted;
  }

  /** close ends the Stream and its connection; iteration then ends. */
  close() {
    this.#external?.removeEventListener('abort', this.#onAbort);
    this.#ctrl.abort();
    this.#dropConn();
  }

  /**
   * resumeAfter moves the Stream to continue after seq. After a reset it
   * is how the caller accepts the gap (earliest - 1) or starts again
   * after the server's last event.
   * @param {number} seq
   */
  resumeAfter(seq) {
    if (!Number.isSafeInteger(seq) || seq < 0) throw new TypeError(`resumeAfter: ${seq} is not a position`);
    this.#dropConn();
    this.#position = seq;
    this.#from = undefined;
    this.#delay = this.#wait = 0;
    if (isReset(this.#err)) this.#err = null;
  }

  /**
   * next returns the next event, reconnecting as needed. It rejects with a
   * HeraldError whose code is position_expired or position_ahead when the
   * server reset the Stream (it stays so until resumeAfter), and with any
   * error retrying cannot cure (401, 403, 400…). After close it is done.
   * @returns {Promise<IteratorResult<Event, undefined>>}
   */
  next() {
    const turn = this.#turn.then(() => this.#pull());
    this.#turn = turn.catch(() => {});
    return turn;
  }

  /** @returns {AsyncIterator<Event, undefined>} */
  [Symbol.asyncIterator]() {
    return {
      next: () => this.next(),
      // break or return in a for await loop ends the Stream.
      return: async () => {
        this.close();
        return { done: true, value: undefined };
      },
    };
  }

  /**
   * run hands each event to onEvent (awaited before the next) until the
   * Stream is closed or fails. A reset goes to onReset: a number it returns
   * is where to resume after; anything else ends the Stream with the reset
   * error. The promise resolves when the Stream is closed and rejects with
   * what ended it otherwise.
   * @param {(ev: Event) => unknown} onEvent
   * @param {((err: HeraldError) => unknown) | undefined} onReset
   */
  run(onEvent, onReset) {
    this.#done ??= (async () => {
      try {
        for (;;) {
          let r;
          try {
            r = await this.next();
          } catch (err) {
            if (isReset(err) && onReset) {
              const to = await onReset(/** @type {HeraldError} */ (err));
              if (typeof to === 'number') {
                this.resumeAfter(to);
                continue;
              }
            }
            throw err;
          }
          if (r.done) return;
          await onEvent(r.value);
        }
      } finally {
        this.close();
      }
    })();
    return this.#done;
  }

  /** @returns {Promise<IteratorResult<Event, undefined>>} */
  async #pull() {
    for (;;) {
      if (this.closed) return { done: true, value: undefined };
      if (this.#err) throw this.#err;
      const conn = this.#conn;
      if (!conn) {
        await this.#connect();
        continue;
      }
      /** @type {Item} */
      let item;
      try {
        item = await conn.next();
      } catch (error) {
        item = { type: 'end', error };
      }
      if (this.closed) return { done: true, value: undefined };
      if (conn !== this.#conn) continue; // resumeAfter replaced it meanwhile
      switch (item.type) {
        case 'event': {
          const ev = item.event;
          // After a reconnection the server starts after the position;
          // anything at or before it was handed over already.
          if (this.#position !== undefined && ev.seq <= this.#position) continue;
          this.#position = ev.seq;
          this.#from = undefined;
          return { done: false, value: ev };
        }
        case 'reset':
          this.#dropConn();
          this.#err = resetError(item.reset);
          throw this.#err;
        case 'fail':
          this.#dropConn();
          this.#err = item.error;
          throw this.#err;
        case 'end':
          this.#dropConn();
          this.#wait = this.#delay;
          this.#retrying(item.error, this.#wait);
      }
    }
  }

  // connect opens a connection, retrying with backoff until it succeeds,
  // the Stream is closed, or the server gives an answer retrying cannot
  // change (which then sticks).
  async #connect() {
    const signal = this.#ctrl.signal;
    for (;;) {
      if (this.#wait > 0) {
        await sleep(this.#wait, signal);
        this.#wait = 0;
      }
      if (signal.aborted) return;
      try {
        if (this.#position === undefined && this.#from === 'now') {
          // Learn where "now" is first, so that events appended between a
          // failed first attempt and its retry are not lost.
          this.#position = await this.#now(signal);
          this.#from = undefined;
        }
        const after = this.#position ?? 'earliest';
        const conn = await this.#open(after, signal);
        if (signal.aborted) {
          conn.close();
          return;
        }
        this.#conn = conn;
        this.#delay = minBackoff; // the next reconnection starts over
        this.#notify(this.#onOpen, after);
        return;
      } catch (err) {
        if (signal.aborted) return;
        if (!(err instanceof HeraldError) || !err.temporary) {
          this.#err = err;
          return; // #pull throws it
        }
        this.#delay = nextBackoff(this.#delay);
        this.#wait = Math.max(this.#delay, err.retryAfter ?? 0);
        this.#retrying(err, this.#wait);
      }
    }
  }

  #retrying(err, wait) {
    this.#notify(this.#onRetry, err, wait);
  }

  #notify(fn, ...args) {
    try {
      fn?.(...args);
    } catch {
      // A logging callback that throws must not stop the Stream.
    }
  }

  #dropConn() {
    const c = this.#conn;
    this.#conn = null;
    c?.close();
  }
}
