// Publish: POST /v1/events with one event; shows the log's acknowledgement
// (seq, id, time), which herald sends only once the event is stored.

import { $, dateTime, el, setStatus } from './dom.js';
import { publish as publishEvent } from './api.js';

export const panel = { id: 'publish', init, shown() { $('#pub-topic').focus(); } };

// The same rules as herald's topic package: dot-separated tokens of
// letters, digits and -_: , at most 255 bytes, no wildcards.
const topicPattern = /^[A-Za-z0-9_:-]+(\.[A-Za-z0-9_:-]+)*$/;

function init() {
  const form = $('#publish-form');
  for (const input of [form.topic, form.type, form.data]) input.addEventListener('input', check);
  $('#pub-format').addEventListener('click', () => {
    const data = form.data.value.trim();
    try {
      if (data) form.data.value = JSON.stringify(JSON.parse(data), null, 2);
    } catch {
      // check() already says what is wrong
    }
    check();
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    publish();
  });
  check();
}

/** problems lists what is wrong with the form; empty when it can be sent. */
function problems() {
  const form = $('#publish-form');
  const out = [];
  const topic = form.topic.value.trim();
  if (!topic) out.push('a topic is required');
  else if (!topicPattern.test(topic) || new TextEncoder().encode(topic).length > 255) {
    out.push('the topic must be dot-separated tokens of letters, digits and - _ : (no wildcards)');
  }
  if (new TextEncoder().encode(form.type.value.trim()).length > 128) out.push('the type is longer than 128 bytes');
  const data = form.data.value.trim();
  if (data) {
    try {
      JSON.parse(data);
    } catch (e) {
      out.push(`data is not valid JSON: ${e.message}`);
    }
  }
  return out;
}

function check() {
  const form = $('#publish-form');
  const p = problems();
  const ok = p.length === 0;
  form.querySelector('button[type=submit]').disabled = !ok;
  form.data.classList.toggle('invalid', p.some((s) => s.startsWith('data')));
  setStatus($('#pub-check'), ok ? 'Ready to publish.' : `${p.join('; ')}.`, ok ? '' : 'error');
}

async function publish() {
  const form = $('#publish-form');
  if (problems().length) return;
  const topic = form.topic.value.trim();
  const type = form.type.value.trim();
  const id = form.id.value.trim();
  const data = form.data.value.trim() || 'null';
  // The data goes out as typed, not re-serialised from JSON.parse: that
  // would round large integers (JavaScript numbers are doubles) and change
  // what the subscribers receive.
  let body = `{"topic":${JSON.stringify(topic)}`;
  if (type) body += `,"type":${JSON.stringify(type)}`;
  if (id) body += `,"id":${JSON.stringify(id)}`;
  body += `,"data":${data}}`;
  const result = $('#pub-result');
  form.querySelector('button[type=submit]').disabled = true; // one publish at a time
  try {
    const res = await publishEvent(body);
    const ack = res.events[0];
    result.replaceChildren(
      el('strong', {}, ack.duplicate ? 'Already stored' : 'Stored'),
      ` as seq `, el('code', { id: 'pub-seq' }, String(ack.seq)),
      ` · id `, el('code', {}, ack.id),
      ack.time ? ` · ${dateTime(ack.time)}` : '',
      ack.duplicate ? ' — an event with this id was published within the last two minutes; it was not stored again.' : '');
    result.className = `notice ${ack.duplicate ? 'warn' : 'ok'}`;
  } catch (e) {
    result.replaceChildren(el('strong', {}, 'Not published: '), e.message);
    result.className = 'notice error';
  } finally {
    result.hidden = false;
    check();
  }
}
