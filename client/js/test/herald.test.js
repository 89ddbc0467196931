// The client against a real herald, started by the Go test that runs this
// file (client/js/jsclient_test.go): HERALD_URL and HERALD_KEY (admin),
// HERALD_SMALL_URL and HERALD_SMALL_KEY (a server that keeps 4 KiB of
// events), HERALD_CONTROL (POST /restart?server=main|small restarts one on
// the same data and port). Without them the tests are skipped, and the Go
// test fails on any skip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Herald, HeraldError, newId } from '../index.js';

const env = process.env;
const skip = env.HERALD_URL ? false : 'needs a herald: run by go test ./client/js';
const admin = new Herald({ url: env.HERALD_URL ?? 'http://herald.invalid', key: env.HERALD_KEY });

/** unique returns a topic prefix no other test uses. */
const unique = (name) => `app.js.${name}.${newId().slice(0, 8)}`;

async function restart(server = 'main') {
  const resp = await fetch(`${env.HERALD_CONTROL}/restart?server=${server}`, { method: 'POST' });
  assert.equal(resp.status, 204, `restart ${server}: ${await resp.text()}`);
}

/** keyFor makes a key that may publish and read under prefix. */
async function keyFor(prefix, url = env.HERALD_URL, adminKey = env.HERALD_KEY) {
  const k = await new Herald({ url, key: adminKey }).createKey({ name: prefix, publish: [prefix + '.>'], subscribe: [prefix + '.>'] });
  return { id: k.id, h: new Herald({ url, key: k.token }) };
}

/** drafts returns n events on topic with data {n: from + i}. */
const drafts = (topic, from, n) => Array.from({ length: n }, (_, i) => ({ topic, type: 'test', data: { n: from + i } }));

/** take reads n events from a stream. */
async function take(s, n) {
  const out = [];
  while (out.length < n) {
    const r = await s.next();
    assert.equal(r.done, false, `the stream ended after ${out.length} of ${n} events`);
    out.push(r.value);
  }
  return out;
}

/** liveSubscribers reads herald_live_subscribers{transport} from /metrics. */
async function liveSubscribers(transport) {
  const resp = await admin.fetchRaw('/metrics');
  const text = await resp.text();
  const m = text.match(new RegExp(`^herald_live_subscribers\\{transport="${transport}"\\} (\\d+)`, 'm'));
  return m ? Number(m[1]) : 0;
}

async function until(what, cond) {
  for (let i = 0; i < 200; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('publish one and many; an id is stored once; poll reads them back', { skip }, async () => {
  const topic = unique('pub') + '.door';
  const one = await admin.publish({ topic, type: 'opened', data: { by: 'alice', big: '<&>' }, id: 'door-' + newId() });
  const many = await admin.publish(drafts(topic, 0, 3));
  assert.equal(many.length, 3);
  assert.ok(many[0].seq > one.seq && many[1].seq > many[0].seq);
  const again = await admin.publish({ topic, type: 'opened', id: one.id });
  assert.deepEqual([again.seq, again.duplicate], [one.seq, true], 'a repeated id is not appended twice');
  const { events, next } = await admin.poll({ topics: [topic], after: one.seq - 1, limit: 10 });
  assert.deepEqual(events.map((e) => e.seq), [one.seq, ...many.map((a) => a.seq)]);
  assert.deepEqual(events[0].data, { by: 'alice', big: '<&>' });
  assert.equal(events[0].type, 'opened');
  assert.equal(next, many[2].seq);
  const waited = await admin.poll({ topics: [topic], after: next, wait: 100 });
  assert.deepEqual(waited.events, [], 'a long-poll with nothing new answers empty when its wait is over');
});

test('the server\'s refusals are HeraldErrors in the native shape', { skip }, async () => {
  await assert.rejects(admin.publish({ topic: 'a b' }), (err) => {
    assert.ok(err instanceof HeraldError);
    assert.equal(err.status, 400);
    assert.equal(err.code, 'bad_request');
    assert.match(err.message, /^event 0: .*"a b".* \(400 bad_request\)$/);
    return true;
  });
  const stranger = new Herald({ url: env.HERALD_URL, key: 'hk_0123456789abcdef_wrong' });
  await assert.rejects(stranger.poll({ after: 0 }), (err) => err.status === 401 && err.code === 'unauthorized' && !err.temporary);
  const { h } = await keyFor(unique('scope'));
  await assert.rejects(h.publish({ topic: 'app.elsewhere' }), (err) => err.status === 403 && err.code === 'forbidden');
  await assert.rejects(h.getSubscription('nope'), (err) => err.status === 404 && err.code === 'not_found');
});

test('a stream resumes exactly across a server restart: nothing lost, nothing twice', { skip }, async () => {
  const topic = unique('restart') + '.r';
  const retries = [];
  const acks = await admin.publish(drafts(topic, 0, 50));
  const s = admin.stream({ topics: [topic], start: acks[0].seq, onRetry: (err) => retries.push(err) });
  const got = await take(s, 20); // 30 published events are left unread
  for (let round = 0; round < 2; round++) {
    await restart();
    acks.push(...await admin.publish(drafts(topic, acks.length, 40)));
    got.push(...await take(s, 70));
    acks.push(...await admin.publish(drafts(topic, acks.length, 30)));
    await admin.publish(drafts(unique('other') + '.x', 0, 5)); // outside the filter
  }
  got.push(...await take(s, 30));
  s.close();
  assert.deepEqual(got.map((e) => e.seq), acks.map((a) => a.seq));
  assert.deepEqual(got.map((e) => e.data.n), acks.map((_, i) => i));
  assert.ok(retries.length >= 2, `onRetry saw ${retries.length} failures; the stream did not reconnect through both restarts`);
});

test('a WebSocket stream resumes exactly across a server restart', { skip }, async () => {
  const topic = unique('wsrestart') + '.r';
  const acks = await admin.publish(drafts(topic, 0, 10));
  const s = admin.websocket({ topics: [topic], after: acks[0].seq - 1 });
  const got = await take(s, 4);
  await restart();
  acks.push(...await admin.publish(drafts(topic, 10, 10)));
  got.push(...await take(s, 16));
  s.close();
  assert.deepEqual(got.map((e) => e.seq), acks.map((a) => a.seq));
});

test('streams cut by a fault rule resume exactly', { skip }, async () => {
  const prefix = unique('cut');
  const { id, h } = await keyFor(prefix);
  const rule = await admin.request('POST', '/v1/faults', { body: { dialect: 'native', action: 'cut_stream', after_events: 3, key: id } });
  try {
    const acks = await h.publish(drafts(prefix + '.c', 0, 10));
    for (const open of [(o) => h.stream(o), (o) => h.websocket(o)]) {
      const ends = [];
      const s = open({ topics: [prefix + '.>'], after: acks[0].seq - 1, onRetry: (err) => ends.push(err) });
      const got = await take(s, 10);
      s.close();
      assert.deepEqual(got.map((e) => e.seq), acks.map((a) => a.seq));
      assert.ok(ends.length >= 3, `${ends.length} cuts for 10 events cut after every 3`);
    }
  } finally {
    await admin.request('DELETE', `/v1/faults/${rule.id}`);
  }
});

test('publish rides through a 429 with Retry-After; the event is stored once', { skip }, async () => {
  const prefix = unique('limited');
  const { id, h } = await keyFor(prefix);
  const rule = await admin.request('POST', '/v1/faults', {
    body: { dialect: 'native', action: 'status', status: 429, retry_after: '1s', key: id, ttl: '2s' },
  });
  try {
    const waits = [];
    const limited = new Herald({ url: env.HERALD_URL, key: h.key, retries: 10, onRetry: (err, ms) => waits.push([err.status, err.code, ms]) });
    const ack = await limited.publish({ topic: prefix + '.x', data: 1 });
    assert.ok(waits.length >= 1, 'the first attempt met the rule');
    for (const w of waits) assert.deepEqual(w, [429, 'rate_limited', 1000], 'each retry waited the Retry-After');
    const { events } = await admin.poll({ topics: [prefix + '.>'], start: 'earliest' });
    assert.deepEqual(events.map((e) => e.seq), [ack.seq], 'stored once');
  } finally {
    await admin.request('DELETE', `/v1/faults/${rule.id}`).catch(() => {}); // expired already, likely
  }
});

test('a stream waits out a 429 on connect', { skip }, async () => {
  const prefix = unique('limitedstream');
  const { id, h } = await keyFor(prefix);
  const ack = await h.publish({ topic: prefix + '.x', data: 1 });
  const rule = await admin.request('POST', '/v1/faults', {
    body: { dialect: 'native', action: 'status', status: 429, retry_after: '1s', key: id, ttl: '2s' },
  });
  const waits = [];
  const s = h.stream({ topics: [prefix + '.>'], start: 'earliest', onRetry: (err, ms) => waits.push([err.code, ms]) });
  const [ev] = await take(s, 1);
  s.close();
  assert.equal(ev.seq, ack.seq);
  assert.ok(waits.length >= 1, 'the first attempt met the rule');
  for (const w of waits) assert.deepEqual(w, ['rate_limited', 1000]);
  await admin.request('DELETE', `/v1/faults/${rule.id}`).catch(() => {});
});

test('an expired position is reset explicitly, on every transport', { skip: env.HERALD_SMALL_URL ? false : 'needs HERALD_SMALL_URL' }, async () => {
  const small = new Herald({ url: env.HERALD_SMALL_URL, key: env.HERALD_SMALL_KEY });
  const topic = unique('expire') + '.big';
  for (let i = 0; i < 10; i++) {
    await small.publish(drafts(topic, i * 10, 10).map((d) => ({ ...d, data: { n: d.data.n, pad: '0'.repeat(200) } })));
  }
  await restart('small'); // read back from a fresh process: nothing from memory
  const polled = await small.poll({ after: 0 }).then(() => assert.fail('poll after 0 succeeded'), (err) => err);
  assert.equal(polled.code, 'position_expired');
  assert.equal(polled.status, 410);
  assert.ok(polled.earliest > 1, `earliest ${polled.earliest}`);

  for (const open of [(o) => small.stream(o), (o) => small.websocket(o)]) {
    const s = open({ after: 0 });
    const err = await s.next().then(() => assert.fail('a stream after 0 delivered an event'), (e) => e);
    assert.equal(err.code, 'position_expired');
    assert.equal(err.earliest, polled.earliest);
    await assert.rejects(s.next(), (e) => e.code === 'position_expired', 'the reset sticks until the caller decides');
    s.resumeAfter(err.earliest - 1);
    const r = await s.next();
    assert.equal(r.value.seq, polled.earliest, 'resumed at the earliest, as asked');
    s.close();
  }

  // Callback mode: onReset decides.
  const seen = [];
  const ctrl = new AbortController();
  const s = small.stream({
    after: 0,
    signal: ctrl.signal,
    onReset: (err) => err.earliest - 1,
    onEvent: (ev) => { seen.push(ev.seq); ctrl.abort(); },
  });
  await s.done;
  assert.deepEqual(seen, [polled.earliest]);

  // A position past the end of the log is said too.
  const { next } = await small.poll({});
  const ahead = small.stream({ after: next + 1000 });
  await assert.rejects(ahead.next(), (e) => e.code === 'position_ahead' && e.last === next);
  ahead.close();
});

test('aborting the signal ends the stream and closes its connection', { skip }, async () => {
  const prefix = unique('abort');
  const { h } = await keyFor(prefix);
  // A fresh process: no stream another test closed is still counted (the
  // server learns of a closed SSE connection at its next write to it).
  await restart();
  const before = await liveSubscribers('sse');
  assert.equal(before, 0);
  const ctrl = new AbortController();
  const got = [];
  const s = h.stream({ topics: [prefix + '.>'], signal: ctrl.signal, onEvent: (ev) => got.push(ev.seq) });
  await until('the stream to open', async () => (await liveSubscribers('sse')) === before + 1);
  const ack = await h.publish({ topic: prefix + '.x' });
  await until('the event', () => got.length === 1);
  ctrl.abort();
  await s.done;
  assert.equal(s.closed, true);
  // Give the server events to write, so it learns of the close.
  await until('the server to see the stream close', async () => {
    await h.publish({ topic: prefix + '.later' });
    return (await liveSubscribers('sse')) === before;
  });
  assert.deepEqual(got, [ack.seq], 'nothing is handed over after the abort');

  // An iterator: aborting while next() waits ends the iteration.
  const ctrl2 = new AbortController();
  const it = h.stream({ topics: [prefix + '.>'], start: 'earliest', signal: ctrl2.signal });
  assert.equal((await it.next()).value.seq, ack.seq);
  const pending = it.next();
  ctrl2.abort();
  assert.deepEqual(await pending, { done: true, value: undefined });
});

test('a stream from now gets what is published after it started', { skip }, async () => {
  const prefix = unique('now');
  const { h } = await keyFor(prefix);
  await h.publish({ topic: prefix + '.before' });
  const s = h.stream({ topics: [prefix + '.>'] });
  const first = s.next();
  await until('the stream to open', async () => s.position !== undefined);
  const ack = await h.publish({ topic: prefix + '.after' });
  assert.equal((await first).value.seq, ack.seq);
  s.close();
});

test('access_token instead of the Authorization header', { skip }, async () => {
  const prefix = unique('token');
  const { h } = await keyFor(prefix);
  const ack = await h.publish({ topic: prefix + '.x' });
  const s = h.stream({ topics: [prefix + '.>'], start: 'earliest', accessToken: true });
  assert.equal((await s.next()).value.seq, ack.seq);
  s.close();
});

test('durable subscriptions: put, fetch, ack, get, list, delete', { skip }, async () => {
  const prefix = unique('subs');
  const { h } = await keyFor(prefix);
  const acks = await h.publish(drafts(prefix + '.o', 0, 5));
  const created = await h.putSubscription('billing', { topics: [prefix + '.>'], start: 'earliest' });
  assert.deepEqual([created.name, created.pending, created.batch], ['billing', 5, null]);
  assert.ok(created.position < acks[0].seq);
  const b1 = await h.fetchBatch('billing', { limit: 3 });
  assert.deepEqual(b1.events.map((e) => e.seq), acks.slice(0, 3).map((a) => a.seq));
  const again = await h.fetchBatch('billing', { limit: 3 });
  assert.equal(again.batch, b1.batch, 'the same batch until it is acknowledged');
  await h.ack('billing', b1.batch);
  await assert.rejects(h.ack('billing', b1.batch), (e) => e.status === 409 && e.code === 'batch_not_pending');
  const b2 = await h.fetchBatch('billing', { wait: 1000, limit: 1 });
  assert.deepEqual(b2.events.map((e) => e.seq), [acks[3].seq]);
  const b3 = await h.fetchBatch('billing', { wait: 1000, ack: b2.batch });
  assert.deepEqual(b3.events.map((e) => e.seq), [acks[4].seq], 'acknowledged and fetched in one request');
  assert.equal((await h.fetchBatch('billing', { ack: b2.batch })).batch, b3.batch, 'the same request again');
  const after = await h.ackUpTo('billing', acks[4].seq);
  assert.deepEqual([after.position, after.pending], [acks[4].seq, 0]);
  const empty = await h.fetchBatch('billing', { wait: 100 });
  assert.deepEqual(empty, { batch: null, events: [] });
  assert.deepEqual((await h.listSubscriptions()).map((x) => x.name), ['billing']);
  assert.equal((await h.getSubscription('billing')).position, acks[4].seq);
  await h.deleteSubscription('billing');
  await assert.rejects(h.getSubscription('billing'), (e) => e.code === 'not_found');
});
