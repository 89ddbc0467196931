// The header badge: whether herald is there and well. It follows GET
// /readyz (every few seconds, more often while it fails) and the live
// tail's stream: a request that gets no answer, or the stream dropping,
// turns it red at once, and only an answer from /readyz turns it green
// again — never a guess.

import { $ } from './dom.js';
import { readiness } from './api.js';

const okEvery = 5000;
const badEvery = 1500;

let ready = null; // the last /readyz answer: {ok, reachable, text, error}
let stream = 'stopped';
let timer = 0;
let checking = false;

export function start() {
  addEventListener('herald:reachable', (ev) => {
    if (!ev.detail) {
      ready = { ok: false, reachable: false, text: 'unreachable', error: 'a request got no answer' };
      paint();
      check();
    } else if (!ready?.ok) {
      check(); // it answered something: ask /readyz whether it is well again
    }
  });
  addEventListener('herald:stream', (ev) => {
    stream = ev.detail.state;
    paint();
    if (stream === 'reconnecting') check();
  });
  check();
}

async function check() {
  if (checking) return;
  checking = true;
  clearTimeout(timer);
  try {
    ready = await readiness();
  } finally {
    checking = false;
  }
  paint();
  timer = setTimeout(check, ready.ok ? okEvery : badEvery);
}

function paint() {
  const pill = $('#ready');
  let state;
  let text;
  let title;
  if (!ready) {
    state = 'unknown'; text = '…'; title = 'asking GET /readyz';
  } else if (!ready.reachable) {
    state = 'down'; text = 'server down';
    title = 'herald does not answer (stopped, restarting, or the network is down). The console retries by itself; start herald or check the network.';
  } else if (!ready.ok) {
    state = 'down'; text = 'not ready';
    title = `GET /readyz: ${ready.error || ready.text}. herald answers but its engine does not; it recovers by itself when the engine returns.`;
  } else if (stream === 'reconnecting' || stream === 'failed') {
    state = 'warn'; text = 'ready · tail reconnecting';
    title = 'The engine answers, but the live tail lost its stream; it resumes exactly where it was.';
  } else {
    state = 'ready'; text = 'ready'; title = 'GET /readyz: the engine answers';
  }
  pill.textContent = text;
  pill.title = title;
  pill.dataset.state = state;
  pill.className = `pill ${{ ready: 'good', warn: 'warn', down: 'bad' }[state] ?? ''}`;
}
