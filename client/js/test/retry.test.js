// The client against a scripted server: retries, backoff, resume headers,
// error shapes, abort. Exact answers, so exact assertions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Herald, HeraldError } from '../index.js';
import { scripted, sseEvent } from './scripted.js';

const ack = (seq, id) => ({ seq, id, time: '2026-01-01T00:00:00Z' });

test('publish retries a 429 after its Retry-After, with the same ids', async (t) => {
  const srv = await scripted([
    { status: 429, headers: { 'Retry-After': '1' }, body: { error: { code: 'rate_limited', message: 'too many requests' } } },
    { status: 503, body: { error: { code: 'unavailable', message: 'engine down' } } },
    { status: 201, body: { events: [ack(1, 'x'), ack(2, 'y')] } },
  ]);
  t.after(() => srv.close());
  const waits = [];
  const h = new Herald({ url: srv.url, key: 'k', onRetry: (err, ms) => waits.push([err.code, ms]) });
  const acks = await h.publish([{ topic: 'app.a' }, { topic: 'app.b', id: 'mine' }]);
  assert.deepEqual(acks.map((a) => a.seq), [1, 2]);
  assert.deepEqual(waits, [['rate_limited', 1000], ['unavailable', 200]]);
  assert.equal(srv.seen.length, 3);
  const bodies = srv.seen.map((r) => JSON.parse(r.body));
  assert.match(bodies[0][0].id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(bodies[0][1].id, 'mine');
  assert.deepEqual(bodies[1], bodies[0], 'a retry sends the same events with the same ids');
  assert.deepEqual(bodies[2], bodies[0]);
  assert.equal(srv.seen[0].headers.authorization, 'Bearer k');
});

test('publish of one event answers one ack', async (t) => {
  const srv = await scripted([{ status: 201, body: { events: [ack(5, 'one')] } }]);
  t.after(() => srv.close());
  const a = await new Herald({ url: srv.url, key: 'k' }).publish({ topic: 'app.a', id: 'one', data: { n: 1 } });
  assert.deepEqual(a, ack(5, 'one'));
  assert.deepEqual(JSON.parse(srv.seen[0].body), [{ topic: 'app.a', id: 'one', data: { n: 1 } }]);
});

test('retries are bounded', async (t) => {
  const down = { status: 503, body: { error: { code: 'unavailable', message: 'engine down' } } };
  const srv = await scripted([down, down, down, down, down]);
  t.after(() => srv.close());
  const h = new Herald({ url: srv.url, key: 'k', retries: 2 });
  await assert.rejects(h.publish({ topic: 'app.a' }), (err) => err instanceof HeraldError && err.status === 503 && err.code === 'unavailable');
  assert.equal(srv.seen.length, 3, 'one attempt and two retries');
});

test('a Retry-After longer than maxRetryDelay fails at once', async (t) => {
  const srv = await scripted([{ status: 429, headers: { 'Retry-After': '120' }, body: { error: { code: 'rate_limited', message: 'slow down' } } }]);
  t.after(() => srv.close());
  const h = new Herald({ url: srv.url, key: 'k', maxRetryDelay: 10_000 });
  await assert.rejects(h.publish({ topic: 'app.a' }), (err) => err.status === 429 && err.retryAfter === 120_000);
  assert.equal(srv.seen.length, 1);
});

test('refusals are not retried and keep the native error shape', async (t) => {
  const srv = await scripted([
    { status: 400, body: { error: { code: 'bad_request', message: 'event 0: invalid topic' } } },
    { status: 500, body: { error: { code: 'internal', message: 'internal error (request r-42)', request_id: 'r-42' } } },
    { status: 502, headers: { 'Content-Type': 'text/html' }, body: '<html>bad gateway</html>' },
  ]);
  t.after(() => srv.close());
  const h = new Herald({ url: srv.url, key: 'k' });
  await assert.rejects(h.publish({ topic: 'a b' }), (err) => {
    assert.ok(err instanceof HeraldError);
    assert.deepEqual([err.status, err.code, err.message, err.temporary], [400, 'bad_request', 'event 0: invalid topic (400 bad_request)', false]);
    return true;
  });
  await assert.rejects(h.request('POST', '/v1/keys', { body: {} }), (err) => err.requestId === 'r-42' && err.code === 'internal' && err.temporary);
  await assert.rejects(h.request('DELETE', '/x'), (err) => err.status === 502 && err.code === '' && err.message === '<html>bad gateway</html> (502)');
  assert.equal(srv.seen.length, 3);
});

test('a stream reconnects with backoff and resumes after the last event it handed over', async (t) => {
  const srv = await scripted([
    { status: 200, body: { events: [], next: 6 } }, // where "now" is
    { status: 503 },
    { status: 502 },
    { status: 200, sse: sseEvent(7) }, // then the connection ends
    { status: 429, headers: { 'Retry-After': '1' } },
    { status: 200, sse: ': keep-alive\n\n' + sseEvent(7) + sseEvent(8) + sseEvent(9), hold: true },
  ]);
  t.after(() => srv.close());
  const waits = [];
  const h = new Herald({ url: srv.url, key: 'k' });
  const s = h.stream({ topics: ['app.>'], onRetry: (err, ms) => waits.push(ms) });
  const got = [];
  for await (const ev of s) {
    got.push(ev.seq);
    if (ev.seq === 9) break;
  }
  assert.deepEqual(got, [7, 8, 9], 'event 7, sent again after the reconnection, is handed over once');
  assert.equal(s.position, 9);
  assert.equal(s.closed, true, 'break closes the stream');
  assert.deepEqual(waits, [100, 200, 100, 1000], "100 ms doubling, back to 100 ms after a connection that worked, Retry-After when longer");
  const reads = srv.seen.map((r) => `${r.url} ${r.headers['last-event-id'] ?? '-'}`);
  assert.deepEqual(reads, [
    '/v1/events?topics=app.%3E&limit=1 -',
    '/v1/stream?topics=app.%3E&after=6 6',
    '/v1/stream?topics=app.%3E&after=6 6',
    '/v1/stream?topics=app.%3E&after=6 6',
    '/v1/stream?topics=app.%3E&after=7 7',
    '/v1/stream?topics=app.%3E&after=7 7',
  ]);
  assert.equal(srv.seen[1].headers.authorization, 'Bearer k');
  assert.equal(srv.seen[1].headers.accept, 'text/event-stream');
});

test('a refused stream stops with the error, not retrying', async (t) => {
  const srv = await scripted([{ status: 401, body: { error: { code: 'unauthorized', message: 'key not valid' } } }]);
  t.after(() => srv.close());
  const s = new Herald({ url: srv.url, key: 'bad' }).stream({ after: 0 });
  await assert.rejects(s.next(), (err) => err.status === 401 && err.code === 'unauthorized');
  await assert.rejects(s.next(), (err) => err.status === 401, 'the error sticks');
  assert.equal(srv.seen.length, 1);
  s.close();
});

test('the reset event is surfaced; resumeAfter continues where the caller says', async (t) => {
  const srv = await scripted([
    { status: 200, sse: sseEvent(3) + 'event: reset\ndata: {"after":3,"earliest":10}\n\n' },
    { status: 200, sse: sseEvent(10) + sseEvent(11), hold: true },
  ]);
  t.after(() => srv.close());
  const s = new Herald({ url: srv.url, key: 'k' }).stream({ after: 2 });
  assert.equal((await s.next()).value.seq, 3);
  await assert.rejects(s.next(), (err) => {
    assert.deepEqual([err.status, err.code, err.after, err.earliest], [410, 'position_expired', 3, 10]);
    return true;
  });
  await assert.rejects(s.next(), (err) => err.code === 'position_expired', 'nothing is skipped until the caller decides');
  s.resumeAfter(9);
  assert.equal((await s.next()).value.seq, 10);
  s.close();
  assert.deepEqual((await s.next()), { done: true, value: undefined });
  assert.equal(srv.seen[1].url, '/v1/stream?after=9');
});

test('callback mode: onReset decides, done resolves on abort', async (t) => {
  const srv = await scripted([
    { status: 200, sse: 'event: reset\ndata: {"after":50,"last":20}\n\n' },
    { status: 200, sse: sseEvent(21) + sseEvent(22), hold: true },
  ]);
  t.after(() => srv.close());
  const ctrl = new AbortController();
  const got = [];
  const resets = [];
  const s = new Herald({ url: srv.url, key: 'k' }).stream({
    after: 50,
    signal: ctrl.signal,
    onReset: (err) => { resets.push([err.code, err.last]); return err.last; },
    onEvent: (ev) => { got.push(ev.seq); if (ev.seq === 22) ctrl.abort(); },
  });
  await s.done;
  assert.deepEqual(resets, [['position_ahead', 20]]);
  assert.deepEqual(got, [21, 22]);
  assert.equal(s.closed, true);
  // The held response is released once the client aborts it.
  for (let i = 0; i < 100 && srv.open.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(srv.open.size, 0, 'the aborted stream closed its connection');
});

test('callback mode without onReset: done rejects with the reset', async (t) => {
  const srv = await scripted([{ status: 200, sse: 'event: reset\ndata: {"after":1,"earliest":5}\n\n' }]);
  t.after(() => srv.close());
  const s = new Herald({ url: srv.url, key: 'k' }).stream({ after: 1, onEvent: () => assert.fail('no event expected') });
  await assert.rejects(s.done, (err) => err.code === 'position_expired' && err.earliest === 5);
});

test('an answer that is not an event stream stops the stream', async (t) => {
  const srv = await scripted([{ status: 200, body: '<html>portal</html>', headers: { 'Content-Type': 'text/html' } }]);
  t.after(() => srv.close());
  const s = new Herald({ url: srv.url, key: 'k' }).stream({ after: 0 });
  await assert.rejects(s.next(), (err) => err.code === 'protocol' && /text\/html/.test(err.message));
  s.close();
});

test('accessToken sends the key in the query, not as a header', async (t) => {
  const srv = await scripted([{ status: 200, sse: sseEvent(1), hold: true }]);
  t.after(() => srv.close());
  const s = new Herald({ url: srv.url, key: 'k y' }).stream({ start: 1, accessToken: true });
  assert.equal((await s.next()).value.seq, 1);
  s.close();
  assert.equal(srv.seen[0].url, '/v1/stream?after=0&access_token=k+y');
  assert.equal(srv.seen[0].headers.authorization, undefined);
});

test('a base URL that is not http or https is refused at once', () => {
  assert.throws(() => new Herald({ url: 'localhost:8080', key: 'k' }), /not http:\/\/ or https:\/\//);
  assert.equal(new Herald({ url: 'HTTP://h:1/', key: 'k' }).base, 'HTTP://h:1');
});

test('onOpen is told of each connection and the position it reads after', async (t) => {
  const srv = await scripted([
    { status: 200, body: { events: [], next: 6 } },
    { status: 503 },
    { status: 200, sse: sseEvent(7) },
    { status: 200, sse: sseEvent(8), hold: true },
  ]);
  t.after(() => srv.close());
  const opened = [];
  const s = new Herald({ url: srv.url, key: 'k' }).stream({ onOpen: (after) => opened.push(after) });
  assert.equal((await s.next()).value.seq, 7);
  assert.equal((await s.next()).value.seq, 8);
  s.close();
  assert.deepEqual(opened, [6, 7], 'not for the refused attempt; once per connection that opened');
});

test('request sends a rawBody as it is', async (t) => {
  const srv = await scripted([{ status: 201, body: { events: [ack(1, 'x')] } }]);
  t.after(() => srv.close());
  const text = '{"topic":"app.a","data":{"big":12345678901234567890}}';
  await new Herald({ url: srv.url, key: 'k' }).request('POST', '/v1/events', { rawBody: text });
  assert.equal(srv.seen[0].body, text, 'a number no double holds is sent digit for digit');
  assert.equal(srv.seen[0].headers['content-type'], 'application/json');
});
