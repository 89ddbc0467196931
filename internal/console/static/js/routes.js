// Routes (admin): GET /v1/routes — each route's position, actions done,
// events skipped, the node running it and whether its action is failing —,
// POST to add one, DELETE to remove it, and POST /v1/routes/{name}/test,
// which shows what a route would do with a stored event without doing it.

import { $, confirmClick, el, fillTable, list, patterns, prettyJSON, setStatus, timeCell, whileShown } from './dom.js';
import { addRoute, listRoutes, removeRoute, testRoute } from './api.js';

export const panel = { id: 'routes', adminOnly: true, init, ...whileShown(refresh, 5000) };

// A starting point for each action's parameters (route.Kinds on the server).
const examples = {
  'native.publish': "{'topic': 'app.copy', 'type': event.type, 'data': data}",
  'zulip.message': "{'to': 'general', 'topic': 'herald', 'content': 'event on ' + event.topic}",
  'hue.put': "{'resource': 'light/<id>', 'body': {'on': {'on': true}}}",
};

let testing = null; // the name of the route in the test box

function init() {
  const form = $('#route-form');
  form.params.value = examples[form.kind.value];
  form.kind.addEventListener('change', () => {
    if (!form.params.value.trim() || Object.values(examples).includes(form.params.value)) form.params.value = examples[form.kind.value];
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    add(form);
  });
  $('#route-refresh').addEventListener('click', () => refresh(new AbortController().signal));
  $('#route-test-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    test();
  });
  $('#route-test-close').addEventListener('click', closeTest);
}

async function refresh(signal) {
  const status = $('#route-status');
  try {
    const { routes } = await listRoutes(signal);
    fillTable($('#route-table tbody'), routes.map(row), 'No routes: add one above, or with herald route add.');
    if (!status.classList.contains('ok')) setStatus(status, '');
  } catch (e) {
    if (!signal.aborted) setStatus(status, `Could not list routes: ${e.message}`, 'error');
  }
}

function row(r) {
  const st = r.state ?? {};
  const testButton = el('button', { type: 'button' }, 'Test…');
  testButton.addEventListener('click', () => openTest(r.name, st.position));
  const del = el('button', { type: 'button', class: 'danger' }, 'Remove');
  confirmClick(del, 'Really remove?', () => remove(r.name));
  const state = st.failing
    ? el('span', { class: 'bad', title: st.last_error_at ?? '' }, `failing at seq ${st.stuck_at ?? '?'}: ${st.last_error ?? ''}`)
    : el('span', { class: 'good' }, 'ok');
  return el('tr', { 'data-name': r.name, class: st.failing ? 'failing' : '' },
    el('td', {}, el('strong', {}, r.name)),
    el('td', { class: 'mono wrap' }, list(r.topics), r.when ? el('div', { class: 'muted' }, `when ${r.when}`) : null),
    el('td', { class: 'mono wrap' }, r.action.kind, r.action.as ? el('div', { class: 'muted' }, `as ${r.action.as}`) : null),
    el('td', { class: 'num' }, String(st.position ?? 0)),
    el('td', { class: 'num done' }, String(st.done ?? 0)),
    el('td', { class: 'num' }, String(st.skipped ?? 0)),
    el('td', { class: 'mono' }, r.node || el('span', { class: 'muted', title: 'no node holds its lease yet' }, '—')),
    el('td', { class: 'error-text state' }, state, st.updated ? el('div', { class: 'muted' }, 'updated ', timeCell(st.updated)) : null),
    el('td', { class: 'actions' }, testButton, del));
}

async function add(form) {
  const status = $('#route-status');
  const spec = {
    name: form.name.value.trim(),
    topics: patterns(form.topics.value),
    action: { kind: form.kind.value, params: form.params.value.trim() },
    start: form.start.value,
  };
  if (form.when.value.trim()) spec.when = form.when.value.trim();
  if (form.as.value.trim()) spec.action.as = form.as.value.trim();
  try {
    const r = await addRoute(spec);
    setStatus(status, `Route ${r.name} added: it starts after seq ${r.state.position}.`, 'ok');
    form.name.value = '';
  } catch (e) {
    setStatus(status, `Could not add the route: ${e.message}`, 'error');
  }
  refresh(new AbortController().signal);
}

async function remove(name) {
  const status = $('#route-status');
  try {
    await removeRoute(name);
    setStatus(status, `Removed ${name}.`, 'ok');
    if (testing === name) closeTest();
  } catch (e) {
    setStatus(status, `Could not remove ${name}: ${e.message}`, 'error');
  }
  refresh(new AbortController().signal);
}

function openTest(name, position) {
  testing = name;
  $('#route-test').hidden = false;
  $('#route-test-title').textContent = `Test ${name}`;
  const seq = $('#route-test-form').seq;
  if (!seq.value && position) seq.value = String(position);
  setStatus($('#route-test-status'), 'Shows what the route would do with a stored event, without doing it.');
  $('#route-test-plan').hidden = true;
  seq.focus();
}

async function test() {
  const status = $('#route-test-status');
  const out = $('#route-test-plan');
  const seq = Number($('#route-test-form').seq.value);
  if (!Number.isSafeInteger(seq) || seq < 1) {
    setStatus(status, 'The event is a sequence number, 1 or more.', 'error');
    return;
  }
  try {
    const res = await testRoute(testing, seq);
    const ev = res.event ? `event ${res.event.seq} (${res.event.topic}, ${res.event.type})` : `event ${seq}`;
    if (res.error) setStatus(status, `On ${ev} the route fails: ${res.error}`, 'error');
    else if (!res.matched) setStatus(status, `The route does not act on ${ev}: its topics or condition do not match.`);
    else setStatus(status, `On ${ev} the route would do this:`, 'ok');
    out.dataset.matched = String(res.matched);
    out.textContent = res.plan ? prettyJSON(res.plan) : '';
    out.hidden = !res.plan;
  } catch (e) {
    setStatus(status, `Could not test: ${e.message}`, 'error');
    out.hidden = true;
  }
}

function closeTest() {
  testing = null;
  $('#route-test').hidden = true;
}
