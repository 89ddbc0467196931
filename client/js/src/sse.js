// An incremental text/event-stream parser, as the HTML standard describes
// it (§9.2.6): lines end in CR, LF or CRLF, a blank line dispatches the
// event, ":" starts a comment, data lines are joined with "\n". herald's
// stream is read with fetch (to send the key as a header), so the parsing
// EventSource would do is done here.

/**
 * @typedef {object} SSEMessage
 * @property {string} event  the event field ("message" if none)
 * @property {string} data
 * @property {string | undefined} id  the id field of this event, if it had one
 */

// maxLine bounds one line: an event is at most the server's 1 MiB body
// limit plus its envelope; anything much longer is not herald talking.
const maxLine = 4 << 20;

export class SSEParser {
  #pending = ''; // text after the last complete line
  #data = /** @type {string[] | null} */ (null);
  #event = '';
  #id = /** @type {string | undefined} */ (undefined);
  #any = false; // a field or comment since the last dispatch

  /**
   * push feeds decoded text and returns the events it completed.
   * @param {string} text
   * @returns {SSEMessage[]}
   */
  push(text) {
    const buf = this.#pending + text;
    const out = [];
    let from = 0;
    while (from < buf.length) {
      const lf = buf.indexOf('\n', from);
      const cr = buf.indexOf('\r', from);
      let end = lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr);
      if (end < 0) break;
      let next = end + 1;
      if (buf[end] === '\r') {
        if (end + 1 === buf.length) break; // a CR at the end may be half of CRLF
        if (buf[end + 1] === '\n') next++;
      }
      const msg = this.#line(buf.slice(from, end));
      if (msg) out.push(msg);
      from = next;
    }
    this.#pending = buf.slice(from);
    if (this.#pending.length > maxLine) {
      throw new Error(`event stream line longer than ${maxLine} bytes`);
    }
    return out;
  }

  /** inEvent reports whether the stream ended inside an event (cut mid-frame). */
  get inEvent() {
    return this.#any || this.#pending !== '';
  }

  /** @param {string} line */
  #line(line) {
    if (line === '') {
      const data = this.#data;
      const msg = data === null ? null : { event: this.#event || 'message', data: data.join('\n'), id: this.#id };
      this.#data = null;
      this.#event = '';
      this.#id = undefined;
      this.#any = false;
      return msg;
    }
    this.#any = true;
    const colon = line.indexOf(':');
    if (colon === 0) return null; // a comment: herald's keep-alive
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value[0] === ' ') value = value.slice(1);
    if (field === 'data') {
      (this.#data ??= []).push(value);
    } else if (field === 'event') {
      this.#event = value;
    } else if (field === 'id' && !value.includes('\0')) {
      this.#id = value;
    }
    // retry and unknown fields are ignored: reconnection timing is the
    // client's own policy.
    return null;
  }
}
