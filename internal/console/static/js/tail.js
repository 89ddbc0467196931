// Live tail: GET /v1/stream (the JavaScript client's stream, see follow.js) from now or from a
// sequence number, one dense line per event as `herald tail` prints it
// (time, seq, topic, type, the data cut short), newest first, in a virtual
// list (vlist.js) that holds up to tens of thousands of rows.
//
// The topic filter and start position are the stream's: applying new ones
// starts a new list. Search and the type filter are the page's, over the
// rows it holds. Pausing closes the stream and keeps its position; resuming
// reconnects after it, so herald replays exactly what came meanwhile from
// the log instead of the page buffering it.

import { $, clock, duration, el, prettyJSON, setStatus } from './dom.js';
import { EventStream } from './follow.js';
import { VirtualList } from './vlist.js';

export const panel = { id: 'tail', init, shown: () => list?.refresh() };

// The data shown on an event's line: the row is one line, the rest is one
// click (or Enter) away.
const shortChars = 240;

let stream = null;
let list = null;
let held = []; // rows, newest first, at most `keep`
let shown = held; // held, or the rows matching search and type
let types = new Map(); // type → rows held
let received = 0;
let paused = false;
let keep = 20000;
let search = '';
let typeFilter = '';
let state = 'stopped';
let detail = null; // of the state: the retry delay and error, or the failure

function init() {
  const form = $('#tail-form');
  list = new VirtualList({ viewport: $('#tail-events'), render: renderRow, key: (r) => r.e.seq, label: 'events, newest first' });
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
    clear();
    status();
  });
  $('#tail-search').addEventListener('input', (ev) => {
    search = ev.target.value.trim().toLowerCase();
    refilter();
  });
  $('#tail-type').addEventListener('change', (ev) => {
    typeFilter = ev.target.value;
    refilter();
  });
  // "/" jumps to the search box, as in many log viewers.
  addEventListener('keydown', (ev) => {
    if (ev.key === '/' && !$('#panel-tail').hidden && !ev.target.closest('input, textarea, select')) {
      ev.preventDefault();
      $('#tail-search').focus();
    }
  });
  $('#tail-reset-skip').addEventListener('click', () => {
    $('#tail-reset').hidden = true;
    stream.start(Number($('#tail-reset').dataset.resume));
  });
  $('#tail-reset-now').addEventListener('click', () => {
    $('#tail-reset').hidden = true;
    stream.start(null);
  });
  start();
}

/** start opens a new list with the form's topics and start position. */
function start() {
  const form = $('#tail-form');
  keep = Number(form.keep.value);
  const after = form.after.value.trim();
  if (after !== '' && !/^\d+$/.test(after)) {
    setStatus($('#tail-status'), 'After seq must be a sequence number (digits only), or empty to start from now.', 'error');
    return;
  }
  stream?.stop();
  clear();
  $('#tail-reset').hidden = true;
  paused = false;
  $('#tail-pause').textContent = 'Pause';
  stream = new EventStream({
    topics: form.topics.value.trim(),
    onEvents: add,
    onState: (s, d) => {
      state = s;
      detail = d;
      dispatchEvent(new CustomEvent('herald:stream', { detail: { state: s, error: d?.error ?? d } }));
      status();
    },
    onReset: reset,
  });
  stream.start(after === '' ? null : Number(after));
}

function clear() {
  held = [];
  shown = held;
  received = 0;
  types = new Map();
  refilter();
  updateTypes();
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

/** row is what the list keeps per event: the event, its line and what search looks at. */
function row(e) {
  let data = JSON.stringify(e.data) ?? 'null';
  if (data.length > shortChars) data = `${data.slice(0, shortChars)}…`;
  return { e, data, text: `${e.seq} ${e.topic} ${e.type} ${e.id} ${data}`.toLowerCase() };
}

function matches(r) {
  return (!typeFilter || r.e.type === typeFilter) && (!search || r.text.includes(search));
}

/** add puts a batch of events (oldest first) at the top and trims the list. */
function add(events) {
  received += events.length;
  const batch = [];
  // Only the newest `keep` of a large batch would survive the trim anyway.
  for (let i = events.length - 1; i >= Math.max(0, events.length - keep); i--) batch.push(row(events[i]));
  let newType = false;
  for (const r of batch) {
    const n = types.get(r.e.type) ?? 0;
    if (!n) newType = true;
    types.set(r.e.type, n + 1);
  }
  // concat, not unshift(...batch): a batch may be larger than the
  // arguments a call can take.
  const unfiltered = shown === held;
  held = batch.concat(held);
  const added = unfiltered ? batch : batch.filter(matches);
  shown = unfiltered ? held : added.concat(shown);
  list.items = shown;
  list.prepended(added.length);
  trim();
  if (newType) updateTypes();
  status();
}

// trim keeps at most `keep` rows: a busy topic would otherwise grow the page
// without limit over a long session. The oldest leave.
function trim() {
  if (held.length <= keep) return;
  for (const r of held.slice(keep)) {
    const n = types.get(r.e.type) - 1;
    if (n > 0) types.set(r.e.type, n);
    else types.delete(r.e.type);
  }
  held.length = keep;
  if (shown !== held) {
    const oldest = held[held.length - 1].e.seq;
    while (shown.length && shown[shown.length - 1].e.seq < oldest) shown.pop();
  }
  list.trimmed();
  updateTypes();
}

/** refilter builds the shown rows again after search or the type changed. */
function refilter() {
  shown = !search && !typeFilter ? held : held.filter(matches);
  list.set(shown);
  status();
}

/** updateTypes lists the types held in the type filter, keeping the choice. */
function updateTypes() {
  const select = $('#tail-type');
  const names = [...types.keys()].sort();
  if (typeFilter && !types.has(typeFilter)) names.push(typeFilter);
  const have = [...select.options].slice(1).map((o) => o.value);
  if (have.join('\n') === names.join('\n')) return;
  select.replaceChildren(el('option', { value: '' }, 'all types'), ...names.map((t) => el('option', { value: t }, t)));
  select.value = typeFilter;
}

function renderRow(r, { expanded }) {
  const e = r.e;
  const line = el('div', { class: 'line' },
    el('time', { class: 'time', datetime: e.time, title: e.time }, clock(e.time)),
    el('span', { class: 'seq' }, String(e.seq)),
    el('span', { class: 'topic' }, e.topic),
    el('span', { class: 'type' }, e.type),
    el('span', { class: 'data' }, r.data));
  const li = el('li', { class: 'tail-row', 'data-seq': e.seq }, line);
  if (expanded) {
    li.classList.add('expanded');
    li.append(el('div', { class: 'detail' },
      el('p', { class: 'meta' },
        el('span', {}, `seq ${e.seq}`), el('span', {}, `id ${e.id}`), el('span', { title: 'as herald stored it (RFC 3339)' }, e.time)),
      el('pre', { class: 'data' }, prettyJSON(e.data))));
  }
  return li;
}

/** reset: the position is not in the log (err: the client's HeraldError). */
function reset(err) {
  state = 'stopped';
  const box = $('#tail-reset');
  if (err.code === 'position_ahead') {
    box.dataset.resume = String(err.last);
    $('#tail-reset-skip').textContent = 'Continue after the log’s last event';
    $('#tail-reset-text').textContent =
      `The tail was at seq ${err.after}, but the log ends at seq ${err.last}: it was replaced (a new data directory?). Choose how to go on.`;
  } else {
    box.dataset.resume = String(Math.max(err.earliest, 1) - 1);
    $('#tail-reset-skip').textContent = 'Continue from the earliest event';
    $('#tail-reset-text').textContent =
      `The tail was at seq ${err.after}, but the log now starts at seq ${err.earliest}: ` +
      `events ${err.after + 1}–${err.earliest - 1} are past retention. Nothing was skipped silently; choose how to go on.`;
  }
  box.hidden = false;
  status();
}

function status() {
  const node = $('#tail-status');
  const where = stream?.position != null ? ` · at seq ${stream.position}` : '';
  const filtered = shown !== held ? ` · ${shown.length} match` : '';
  const count = `${received} received · ${held.length} held (keeping ${keep})${filtered}`;
  let text;
  let kind = '';
  switch (state) {
    case 'connecting': text = 'Connecting…'; break;
    case 'live': text = '● Live'; kind = 'ok'; break;
    case 'reconnecting':
      text = `Reconnecting in ${duration(detail.delay)}${detail.error ? ` (${detail.error.message})` : ''}; resumes after the last event shown`;
      kind = 'error';
      break;
    case 'failed': text = `Stopped: ${detail?.message ?? detail}. Fix the filter and press Apply.`; kind = 'error'; break;
    default: text = paused ? 'Paused; Resume continues exactly where it stopped' : 'Stopped';
  }
  node.dataset.state = paused ? 'paused' : state;
  node.dataset.held = String(held.length);
  node.dataset.shown = String(shown.length);
  setStatus(node, `${text} · ${count}${where}`, kind);
}

/** stats is for the browser test's log: how long the list's last render took. */
export function stats() {
  return { held: held.length, shown: shown.length, lastRenderMs: list?.lastRender ?? 0 };
}
