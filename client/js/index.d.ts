// Types of @herald/client (hand-written; the modules carry the same as JSDoc).

/** One entry of herald's log. */
export interface Event {
  /** Position in the log: strictly increasing, never reused. */
  seq: number;
  /** UUID unless the publisher chose one. */
  id: string;
  /** When the log accepted it, RFC 3339 with nanoseconds. */
  time: string;
  /** Dot-separated, e.g. "app.door.front". */
  topic: string;
  type: string;
  data: unknown;
}

/** An event to publish. */
export interface Draft {
  topic: string;
  /** Defaults to "event" on the server. */
  type?: string;
  /** Any JSON value; absent means null. */
  data?: unknown;
  /** Makes publishing idempotent: the server stores an id it saw within minutes once. Set if absent. */
  id?: string;
}

/** Confirms that one draft was durably appended. */
export interface Ack {
  seq: number;
  id: string;
  time: string;
  /** The id was already in the log, at seq: nothing new was stored. */
  duplicate?: boolean;
}

/**
 * Where a read starts: `after` a position (the events after it), or
 * `start` at 'now' (the default: only what is appended from now on),
 * 'earliest' (every event still stored) or a seq (that event first).
 */
export type From =
  | { after: number; start?: undefined }
  | { after?: undefined; start?: 'now' | 'earliest' | number };

export type ReadOptions = From & {
  /** Topic filters such as "app.>" or "hue.*.button"; none: every topic the key may read. */
  topics?: string[];
};

export type PollOptions = ReadOptions & {
  /** Most events to return (server default 100, at most 1000). */
  limit?: number;
  /** Wait up to this many milliseconds (at most 120,000) for a matching event. */
  wait?: number;
  signal?: AbortSignal;
};

export type StreamOptions = ReadOptions & {
  /**
   * Callback mode: each event, awaited before the next. Without it, iterate
   * the Stream (for await) or call next().
   */
  onEvent?: (ev: Event) => unknown;
  /**
   * The stream's position is not in the log (expired by retention, or past
   * its end). Return the position to resume after (err.earliest - 1 accepts
   * the gap; err.last starts again after the log's end); anything else ends
   * the Stream with err.
   */
  onReset?: (err: HeraldError) => number | undefined | void | Promise<number | undefined | void>;
  /** Callback mode: what ended the Stream, other than close (else s.done rejects). */
  onError?: (err: unknown) => void;
  /** A connection failed or ended; the Stream tries again after waitMs. */
  onRetry?: (err: unknown, waitMs: number) => void;
  /** A connection opened, reading after `after`: the Stream is live (again). */
  onOpen?: (after: number | 'earliest') => void;
  /** Aborting it closes the Stream. */
  signal?: AbortSignal;
  /**
   * Send the key as ?access_token= instead of Authorization: Bearer, for
   * environments whose fetch cannot send the header.
   */
  accessToken?: boolean;
};

export type WebSocketOptions = Omit<StreamOptions, 'accessToken'> & {
  /** A WebSocket constructor (Node 20: the ws package); default the client's or globalThis.WebSocket. */
  WebSocket?: unknown;
};

export interface HeraldOptions {
  /** Base URL, e.g. "http://localhost:8080"; in a page, its origin by default. */
  url?: string;
  /** The API key. */
  key?: string;
  /** A fetch to use instead of globalThis.fetch. */
  fetch?: typeof fetch;
  /** The WebSocket constructor websocket() uses (Node 20: the ws package). */
  WebSocket?: unknown;
  /** How many times publish and reads try again after 429, 503 or no answer (default 3). */
  retries?: number;
  /** The longest wait (ms) a retry waits; a longer Retry-After fails at once (default 30,000). */
  maxRetryDelay?: number;
  /** A request is tried again after waitMs. */
  onRetry?: (err: HeraldError, waitMs: number) => void;
}

/** A failed request or stream, in herald's native error shape. */
export class HeraldError extends Error {
  name: string;
  /** HTTP status; 0 when no answer came (a network failure). */
  status: number;
  /** herald's code: "bad_request", "unauthorized", "rate_limited", "position_expired", "network", "protocol", … */
  code: string;
  /** With internal errors: the id the server's log has the details under. */
  requestId?: string;
  /** position_expired: the oldest stored seq. */
  earliest?: number;
  /** position_ahead: the log's last seq. */
  last?: number;
  /** A stream's reset: the position that was refused. */
  after?: number;
  /** The server's Retry-After in milliseconds. */
  retryAfter?: number;
  /** Whether retrying the same request later may succeed. */
  readonly temporary: boolean;
}

/** A live read with exact resume across reconnections. */
export class Stream implements AsyncIterable<Event> {
  /** The seq of the last event handed over, or where the Stream started after. */
  readonly position: number | undefined;
  readonly closed: boolean;
  /** Callback mode: resolves on close, rejects with what ended the Stream. */
  readonly done: Promise<void> | undefined;
  close(): void;
  /** Continue after seq (after a reset: accept the gap, or start again). */
  resumeAfter(seq: number): void;
  next(): Promise<IteratorResult<Event, undefined>>;
  [Symbol.asyncIterator](): AsyncIterator<Event, undefined>;
}

export interface Subscription {
  name: string;
  topics: string[];
  /** Every event up to here is acknowledged. */
  position: number;
  /** Matching events after position (counted up to 10,000). */
  pending: number;
  /** The batch handed out and not acknowledged, if any. */
  batch: string | null;
  owner: string;
  created: string;
  last_active: string;
}

export interface Batch {
  batch: string | null;
  events: Event[];
}

export interface Key {
  id: string;
  name: string;
  publish?: string[];
  subscribe?: string[];
  admin?: boolean;
  rate?: number;
  /** Only in createKey's answer. */
  token?: string;
  [field: string]: unknown;
}

export const MaxPublish: 1000;

/** A random version 4 UUID. */
export function newId(): string;

/** An incremental text/event-stream parser. */
export class SSEParser {
  push(text: string): { event: string; data: string; id: string | undefined }[];
  readonly inEvent: boolean;
}

export class Herald {
  constructor(options?: HeraldOptions);
  readonly base: string;
  readonly key: string;
  url(path: string, query?: Record<string, unknown>): string;
  /** Any endpoint: decoded JSON, or a HeraldError for a status of 400 or more. */
  /** One request, whatever its answer's status; no answer rejects with a HeraldError of status 0. */
  fetchRaw(path: string, options?: {
    method?: string; query?: Record<string, unknown>; body?: unknown;
    /** JSON text sent as it is instead of body (numbers a double cannot hold). */
    rawBody?: string; headers?: Record<string, string>; signal?: AbortSignal; bearer?: boolean;
  }): Promise<Response>;
  request<T = any>(method: string, path: string, options?: {
    query?: Record<string, unknown>; body?: unknown; rawBody?: string; signal?: AbortSignal; retry?: boolean;
  }): Promise<T>;
  publish(event: Draft, options?: { signal?: AbortSignal }): Promise<Ack>;
  publish(events: Draft[], options?: { signal?: AbortSignal }): Promise<Ack[]>;
  poll(options?: PollOptions): Promise<{ events: Event[]; next: number }>;
  stream(options?: StreamOptions): Stream;
  websocket(options?: WebSocketOptions): Stream;
  putSubscription(name: string, spec?: { topics?: string[]; start?: 'new' | 'earliest' | number }): Promise<Subscription>;
  getSubscription(name: string, options?: { signal?: AbortSignal }): Promise<Subscription>;
  listSubscriptions(options?: { signal?: AbortSignal }): Promise<Subscription[]>;
  deleteSubscription(name: string): Promise<void>;
  fetchBatch(name: string, options?: { limit?: number; wait?: number; ack?: string; signal?: AbortSignal }): Promise<Batch>;
  ack(name: string, batch: string): Promise<Subscription>;
  ackUpTo(name: string, seq: number): Promise<Subscription>;
  createKey(spec: { name: string; publish?: string[]; subscribe?: string[]; admin?: boolean; rate?: number }): Promise<Key>;
  listKeys(): Promise<Key[]>;
  revokeKey(id: string): Promise<void>;
}
