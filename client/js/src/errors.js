// Errors: what the server answered, in herald's native error shape
// {"error":{"code","message","request_id",…}}, or why no answer came.

/**
 * A failed request or stream. `status` is the HTTP status (0 when the
 * server gave no answer: a network failure), `code` herald's error code
 * ("rate_limited", "position_expired", …), `requestId` the id the server's
 * log has the details of an internal error under.
 */
export class HeraldError extends Error {
  /**
   * @param {string} message
   * @param {{status?: number, code?: string, requestId?: string, earliest?: number,
   *   last?: number, after?: number, retryAfter?: number, cause?: unknown}} [detail]
   */
  constructor(message, detail = {}) {
    super(message, detail.cause === undefined ? undefined : { cause: detail.cause });
    this.name = 'HeraldError';
    /** @type {number} */
    this.status = detail.status ?? 0;
    /** @type {string} */
    this.code = detail.code ?? '';
    /** @type {string | undefined} */
    this.requestId = detail.requestId;
    /** Oldest stored seq (position_expired): resume after earliest-1 to accept the gap. @type {number | undefined} */
    this.earliest = detail.earliest;
    /** The log's last seq (position_ahead): start again after it. @type {number | undefined} */
    this.last = detail.last;
    /** The position that was refused (a stream's reset). @type {number | undefined} */
    this.after = detail.after;
    /** The server's Retry-After hint in milliseconds (429, 503). @type {number | undefined} */
    this.retryAfter = detail.retryAfter;
  }

  /** Whether the same request may succeed later: rate limits and outages, not refusals. */
  get temporary() {
    return this.status === 0 || temporaryStatus.has(this.status);
  }
}

const temporaryStatus = new Set([408, 429, 500, 502, 503, 504]);

// maxErrorText bounds what of a non-herald error page (a proxy's HTML) is
// kept in the message.
const maxErrorText = 200;

/**
 * fromResponse reads a failed response into a HeraldError. A body that is
 * not herald's error JSON still yields the status.
 * @param {Response} resp
 * @returns {Promise<HeraldError>}
 */
export async function fromResponse(resp) {
  const retryAfter = parseRetryAfter(resp.headers.get('Retry-After'));
  let text = '';
  try {
    text = await resp.text();
  } catch {
    // The body could not be read: the status still says what happened.
  }
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const e = body && typeof body === 'object' ? body.error : undefined;
  if (e && typeof e === 'object' && typeof e.code === 'string' && e.code !== '') {
    return new HeraldError(`${e.message || e.code} (${resp.status} ${e.code})`, {
      status: resp.status, code: e.code, requestId: e.request_id,
      earliest: e.earliest, last: e.last, retryAfter,
    });
  }
  let msg = text.trim() || resp.statusText || 'request failed';
  if (msg.length > maxErrorText) msg = msg.slice(0, maxErrorText) + '…';
  return new HeraldError(`${msg} (${resp.status})`, { status: resp.status, retryAfter });
}

/**
 * resetError is a stream's reset event (its position is not in the log) as
 * the error a long-poll gets for the same position.
 * @param {{after?: number, earliest?: number, last?: number}} r
 */
export function resetError(r) {
  if (typeof r.last === 'number') {
    return new HeraldError(
      `position ${r.after} is past the end of the server's log (its last event is ${r.last}): was it replaced? (409 position_ahead)`,
      { status: 409, code: 'position_ahead', after: r.after, last: r.last });
  }
  return new HeraldError(
    `events after ${r.after} were removed by retention; the earliest stored is ${r.earliest} (410 position_expired)`,
    { status: 410, code: 'position_expired', after: r.after, earliest: r.earliest });
}

/** isReset reports whether err says a position is not in the log. */
export function isReset(err) {
  return err instanceof HeraldError && (err.code === 'position_expired' || err.code === 'position_ahead');
}

/**
 * parseRetryAfter reads delay-seconds or an HTTP date (RFC 9110 §10.2.3)
 * into milliseconds; undefined when absent or unreadable.
 * @param {string | null} v
 */
export function parseRetryAfter(v) {
  if (v == null || v.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(t - Date.now(), 0);
}

/** networkError wraps a failure to get any answer. */
export function networkError(what, cause) {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new HeraldError(`${what}: no answer from the server: ${why}`, { status: 0, code: 'network', cause });
}
