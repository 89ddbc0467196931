// The fault banner (admin): while any fault rule is in effect (GET
// /v1/faults), a banner on every panel says so — clients of this herald
// are seeing injected errors, cuts or delays on purpose — with a button
// that removes them all (DELETE /v1/faults).

import { $, confirmClick, el, repeat } from './dom.js';
import { clearFaults, listFaults } from './api.js';

let stop = null;

export function start() {
  confirmClick($('#faults-clear'), 'Really remove all?', async () => {
    try {
      await clearFaults();
    } catch (e) {
      $('#faults-text').textContent = `Could not remove the fault rules: ${e.message}`;
    }
    check(new AbortController().signal);
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
  const banner = $('#faults-banner');
  banner.hidden = !rules.length;
  banner.dataset.count = String(rules.length);
  if (!rules.length) return;
  $('#faults-text').replaceChildren(
    el('strong', {}, `Fault injection is on: ${rules.length} rule${rules.length > 1 ? 's' : ''} in effect. `),
    'Clients of this herald see these faults on purpose: ',
    rules.map(describe).join('; '), '. Remove them here, or with herald faults clear.');
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
