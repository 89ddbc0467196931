// Live tail: GET /v1/stream (read with fetch, see sse.js) from now or from a
// sequence number, newest event first. Pausing closes the stream and keeps
// its position; resuming reconnects after it, so herald replays exactly what
// came meanwhile from the log instead of the page buffering it.

import { $, eventItem, setStatus } from './dom.js';
import { EventStream } from './sse.js';

export const panel = { id: 'tail', init, shown() {} };

let stream = null;
let received = 0;
let paused = false;
let keep = 500;
let state = 'stopped';
let detail = null; // of the state: the retry delay and error, or the failure

function init() {
  const form = $('#tail-form');
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    start();
  });
  form.keep.addEventListener('change', () => {
    keep = Number(form.keep.value);
    trim();
    status();
  });
  $('#tail-pause').addEventListener('click', () => (paused ? resume() : pause()));
  $('#tail-clear').addEventListener('click', () => {
    $('#tail-events').replaceChildren();
    received = 0;
    status();
  });
  $('#tail-reset-skip').addEventListener('click', () => {
    const earliest = Number($('#tail-reset').dataset.earliest);
    $('#tail-reset').hidden = true;
    stream.start(Math.max(earliest, 1) - 1);
  });
  $('#tail-reset-now').addEventListener('click', () => {
    $('#tail-reset').hidden = true;
    stream.start(null);
  });
  start();
}

/** start (re)opens the stream with the form's topics and start position. */
function start() {
  const form = $('#tail-form');
  keep = Number(form.keep.value);
  const after = form.after.value.trim();
  if (after !== '' && !/^\d+$/.test(after)) {
    setStatus($('#tail-status'), 'After seq must be a sequence number, or empty for now.', 'error');
    return;
  }
  stream?.stop();
  $('#tail-reset').hidden = true;
  paused = false;
  $('#tail-pause').textContent = 'Pause';
  stream = new EventStream({
    topics: form.topics.value.trim(),
    onEvents: show,
    onState: (s, d) => {
      state = s;
      detail = d;
      status();
    },
    onReset: reset,
  });
  stream.start(after === '' ? null : Number(after));
}

function pause() {
  paused = true;
  stream.stop();
  $('#tail-pause').textContent = 'Resume';
  status();
}

function resume() {
  paused = false;
  $('#tail-pause').textContent = 'Pause';
  stream.start(stream.position);
}

/** show adds a batch of events at the top, newest first, and trims the list. */
function show(events) {
  received += events.length;
  const list = $('#tail-events');
  const frag = document.createDocumentFragment();
  // Only the newest `keep` of a large batch would survive the trim anyway.
  for (let i = events.length - 1; i >= Math.max(0, events.length - keep); i--) {
    frag.append(eventItem(events[i]));
  }
  list.prepend(frag);
  trim();
  status();
}

// trim keeps the DOM bounded: a busy topic would otherwise grow the page
// without limit over a long session.
function trim() {
  const list = $('#tail-events');
  while (list.childElementCount > keep) list.lastElementChild.remove();
}

function reset(info) {
  state = 'stopped';
  const box = $('#tail-reset');
  box.dataset.earliest = info.earliest;
  $('#tail-reset-text').textContent =
    `The tail was at seq ${info.after}, but the log now starts at seq ${info.earliest}: ` +
    `events ${info.after + 1}–${info.earliest - 1} are past retention. Nothing was skipped silently; choose how to go on.`;
  box.hidden = false;
  status();
}

function status() {
  const node = $('#tail-status');
  const where = stream?.position != null ? ` · at seq ${stream.position}` : '';
  const count = `${received} received · ${$('#tail-events').childElementCount} shown (keeping ${keep})`;
  let text;
  let kind = '';
  switch (state) {
    case 'connecting': text = 'Connecting…'; break;
    case 'live': text = '● Live'; kind = 'ok'; break;
    case 'reconnecting':
      text = `Reconnecting in ${Math.round(detail.delay / 1000)} s${detail.error ? ` (${detail.error.message})` : ''}; resumes after the last event shown`;
      kind = 'error';
      break;
    case 'failed': text = `Stopped: ${detail?.message ?? detail}`; kind = 'error'; break;
    default: text = paused ? 'Paused; Resume continues exactly where it stopped' : 'Stopped';
  }
  node.dataset.state = paused ? 'paused' : state;
  setStatus(node, `${text} · ${count}${where}`, kind);
}
