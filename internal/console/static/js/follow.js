// The live tail's stream: herald's JavaScript client's Stream (fetch-based
// SSE: the key goes in a header, never in a URL; exact resume after the
// last event handed over, across restarts of herald), with what the tail
// needs on top — events in batches, one per turn of the page's event loop,
// so that a burst of thousands is drawn once, and the stream's state for
// its status line and the header badge.

import { explain, stream } from './api.js';
import { patterns } from './dom.js';

/**
 * EventStream follows the log from a position until stopped. Callbacks:
 *   onEvents(events)   native events ({seq,id,time,topic,type,data}), in order
 *   onState(state, detail)  'connecting' | 'live' | 'reconnecting' (detail: {delay, error}) | 'stopped' | 'failed' (detail: error)
 *   onReset(err)  the position is not in the log (a HeraldError with after and
 *                 earliest, or last); the stream has stopped
 */
export class EventStream {
  constructor({ topics = '', onEvents, onState = () => {}, onReset = () => {} }) {
    this.topics = patterns(topics);
    this.onEvents = onEvents;
    this.onState = onState;
    this.onReset = onReset;
    this.stream = null; // the client's Stream while running
    this.last = null; // the position when stopped
    this.batch = [];
    this.timer = 0;
  }

  /** start follows the stream after `after` (a seq), or from now when null. */
  start(after = null) {
    this.stop();
    const s = stream({
      topics: this.topics,
      ...(after === null ? {} : { after }),
      onOpen: () => this.onState('live'),
      onRetry: (error, delay) => this.onState('reconnecting', { delay, error: explain(error) }),
    });
    this.stream = s;
    this.onState('connecting');
    s.run((ev) => {
      this.batch.push(ev);
      this.timer ||= setTimeout(() => this.flush(), 0);
    }).catch((err) => {
      if (this.stream !== s) return; // stopped, or started again
      this.flush();
      this.last = s.position ?? null;
      this.stream = null;
      if (err?.code === 'position_expired' || err?.code === 'position_ahead') this.onReset(err);
      else this.onState('failed', explain(err));
    });
  }

  /** flush hands the events received so far to onEvents. */
  flush() {
    clearTimeout(this.timer);
    this.timer = 0;
    const b = this.batch;
    this.batch = [];
    if (b.length) this.onEvents(b);
  }

  /** stop closes the stream; position stays where it was, for a resume. */
  stop() {
    const s = this.stream;
    if (!s) return;
    this.stream = null;
    s.close();
    this.flush(); // what arrived is shown: the position is after it
    this.last = s.position ?? null;
    this.onState('stopped');
  }

  get running() {
    return this.stream !== null;
  }

  /** position is the seq of the last event handed over (null before it is known). */
  get position() {
    return this.stream ? this.stream.position ?? null : this.last;
  }
}
