import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SSEParser } from '../index.js';

const frames = 'retry: 2000\n\n: keep-alive\n\nid: 7\nevent: opened\ndata: {"a":\ndata:1}\r\n\r\n' +
  'event: reset\ndata: {}\n\ndata: x\r\ndata: y\rdata: z\n\nid: a\0b\ndata: nul\n\n';
const want = [
  { event: 'opened', data: '{"a":\n1}', id: '7' },
  { event: 'reset', data: '{}', id: undefined },
  { event: 'message', data: 'x\ny\nz', id: undefined },
  { event: 'message', data: 'nul', id: undefined }, // an id with NUL is ignored (HTML §9.2.6)
];

test('SSE frames split at every position parse the same', () => {
  for (let cut = 0; cut <= frames.length; cut++) {
    const p = new SSEParser();
    const got = [...p.push(frames.slice(0, cut)), ...p.push(frames.slice(cut))];
    assert.deepEqual(got, want, `cut at ${cut}`);
    assert.equal(p.inEvent, false);
  }
});

test('SSE frames fed one character at a time parse the same', () => {
  const p = new SSEParser();
  const got = [];
  for (const c of frames) got.push(...p.push(c));
  assert.deepEqual(got, want);
});

test('a stream cut inside an event is told from one cut between events', () => {
  const p = new SSEParser();
  assert.deepEqual(p.push('id: 1\ndata: {}\n\nid: 2\ndata: {"par'), [{ event: 'message', data: '{}', id: '1' }]);
  assert.equal(p.inEvent, true);
  const q = new SSEParser();
  q.push('id: 1\ndata: {}\n\n: keep-alive\n\n');
  assert.equal(q.inEvent, false);
});

test('a blank line after only an id or event name dispatches nothing', () => {
  const p = new SSEParser();
  assert.deepEqual(p.push('id: 3\n\nevent: x\n\ndata: d\n\n'), [{ event: 'message', data: 'd', id: undefined }]);
});
