// Faults (admin). The banner: while any fault rule is in effect (GET
// /v1/faults), a banner on every panel says so — clients of this herald
// are seeing injected errors, cuts or delays on purpose — with a link to
// the Faults panel and a button that removes them all (DELETE /v1/faults).
// The panel lists the rules, adds one from a small form (POST /v1/faults)
// and removes one (DELETE /v1/faults/{id}) or all.

import { $, confirmClick, el, fillTable, repeat, setStatus, timeCell, whileShown } from './dom.js';
import { addFault, clearFaults, deleteFault, listFaults } from './api.js';

export const panel = { id: 'faults', adminOnly: true, init, ...whileShown(refresh, 5000) };

let stop = null;

/** start runs the banner. */
export function start() {
  confirmClick($('#faults-clear'), 'Really remove all?', async () => {
    try {
      await clearFaults();
    } catch (e) {
      $('#faults-text').textContent = `Could not remove the fault rules: ${e.message}`;
    }
    changed();
  });
  stop?.();
  stop = repeat(check, 5000);
}

async function check(signal) {
  let rules;
  try {
    ({ faults: rules } = await listFaults(signal));
  } catch {
    return; // the badge tells when herald is away; the banner keeps what it knew
  }
  banner(rules);
}

function banner(rules) {
  const box = $('#faults-banner');
  box.hidden = !rules.length;
  box.dataset.count = String(rules.length);
  if (!rules.length) return;
  $('#faults-text').replaceChildren(
    el('strong', {}, `Fault injection is on: ${rules.length} rule${rules.length > 1 ? 's' : ''} in effect. `),
    'Clients of this herald see these faults on purpose: ',
    rules.map(describe).join('; '), '. Remove them here, or with herald faults clear.');
}

/** changed refreshes the banner and, if shown, the panel after a change. */
function changed() {
  const signal = new AbortController().signal;
  check(signal);
  if (!$('#panel-faults').hidden) refresh(signal);
}

/** describe says what a rule does, briefly: "503 on native (p 0.5)". */
function describe(r) {
  const what = {
    status: `${r.status || 503}${r.retry_after ? ` (Retry-After ${r.retry_after})` : ''}`,
    delay: `delay ${r.delay}`,
    cut_stream: `cut streams${r.after_events ? ` after ${r.after_events} events` : ''}${r.every ? ` every ${r.every}` : ''}${r.now ? ' now' : ''}`,
  }[r.action] ?? r.action.replaceAll('_', ' ');
  const where = [r.dialect && r.dialect !== 'any' ? `on ${r.dialect}` : 'on every dialect', r.key ? `key ${r.key}` : '', r.topic ? `topic ${r.topic}` : '']
    .filter(Boolean).join(', ');
  const p = r.probability != null && r.probability < 1 ? ` (p ${r.probability})` : '';
  return `${what} ${where}${p}`;
}

function init() {
  const form = $('#fault-form');
  const params = () => {
    for (const l of form.querySelectorAll('[data-for]')) l.hidden = l.dataset.for !== form.action.value;
  };
  form.action.addEventListener('change', params);
  params();
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    add(form);
  });
  confirmClick($('#fault-clear-all'), 'Really remove all?', async () => {
    try {
      const { deleted } = await clearFaults();
      setStatus($('#fault-status'), `Removed ${deleted} rule${deleted === 1 ? '' : 's'}.`, 'ok');
    } catch (e) {
      setStatus($('#fault-status'), `Could not remove the rules: ${e.message}`, 'error');
    }
    changed();
  });
}

async function refresh(signal) {
  const status = $('#fault-status');
  try {
    const { faults: rules } = await listFaults(signal);
    banner(rules);
    fillTable($('#fault-table tbody'), rules.map(row), 'No fault rules: delivery is as it should be.');
    if (!status.classList.contains('ok')) setStatus(status, '');
  } catch (e) {
    if (!signal.aborted) setStatus(status, `Could not list the fault rules: ${e.message}`, 'error');
  }
}

function row(r) {
  const del = el('button', { type: 'button', class: 'danger' }, 'Remove');
  del.addEventListener('click', () => remove(r.id));
  return el('tr', { 'data-id': r.id },
    el('td', { class: 'mono muted' }, r.id),
    el('td', { class: 'wrap' }, describe(r)),
    el('td', { class: 'num' }, String(r.probability ?? 1)),
    el('td', {}, timeCell(r.created)),
    el('td', {}, r.expires ? timeCell(r.expires) : el('span', { class: 'muted' }, 'until removed')),
    el('td', { class: 'actions' }, del));
}

/** spec reads the form into a rule as POST /v1/faults takes it. */
function spec(form) {
  const s = { dialect: form.dialect.value, action: form.action.value };
  const text = (name) => form[name].value.trim();
  for (const name of ['key', 'topic', 'ttl']) if (text(name)) s[name] = text(name);
  if (text('probability')) s.probability = Number(text('probability'));
  switch (s.action) {
    case 'status':
      s.status = Number(form.status.value);
      if (text('retry_after')) s.retry_after = text('retry_after');
      break;
    case 'delay':
      s.delay = text('delay');
      break;
    case 'cut_stream':
      if (text('after_events')) s.after_events = Number(text('after_events'));
      if (text('every')) s.every = text('every');
      if (form.now.checked) s.now = true;
      break;
  }
  return s;
}

async function add(form) {
  const status = $('#fault-status');
  try {
    const r = await addFault(spec(form));
    setStatus(status, `Rule ${r.id} in effect: ${describe(r)}.`, 'ok');
  } catch (e) {
    setStatus(status, `Could not add the rule: ${e.message}`, 'error');
  }
  changed();
}

async function remove(id) {
  const status = $('#fault-status');
  try {
    await deleteFault(id);
    setStatus(status, `Removed rule ${id}.`, 'ok');
  } catch (e) {
    setStatus(status, `Could not remove rule ${id}: ${e.message}`, 'error');
  }
  changed();
}
