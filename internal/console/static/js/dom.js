// Small DOM helpers. Everything that comes from the server (event data,
// topics, key names) reaches the page through text nodes only — never as
// HTML — so no event can inject markup or script into the console.

/**
 * el builds an element: el('td', {class: 'num', title: 't'}, 'text', child).
 * Attributes are set with setAttribute; string children become text nodes.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** $ finds one element by CSS selector (within root). */
export const $ = (selector, root = document) => root.querySelector(selector);

/** setStatus writes a status line; kind is '', 'ok' or 'error'. */
export function setStatus(node, text, kind = '') {
  node.textContent = text;
  node.classList.toggle('error', kind === 'error');
  node.classList.toggle('ok', kind === 'ok');
}

// One time format everywhere: local time as YYYY-MM-DD HH:MM:SS (24 h),
// its time of day with milliseconds where events are listed; the exact
// RFC 3339 time is in each element's title.

const pad = (n, w = 2) => String(n).padStart(w, '0');

function parse(iso) {
  const d = iso instanceof Date ? iso : new Date(iso);
  return !iso || Number.isNaN(d.getTime()) || d.getFullYear() < 2 ? null : d;
}

/** clock formats a time as local HH:MM:SS.mmm. */
export function clock(iso) {
  const d = parse(iso);
  if (!d) return String(iso ?? '—');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** dateTime formats a time as local YYYY-MM-DD HH:MM:SS ("—" for none). */
export function dateTime(iso) {
  const d = parse(iso);
  if (!d) return '—';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** timeCell is a <time> showing dateTime, with the exact time and its age as a tooltip. */
export function timeCell(iso) {
  const d = parse(iso);
  if (!d) return el('span', { class: 'muted' }, '—');
  return el('time', { datetime: d.toISOString(), title: `${d.toISOString()} (${ago(d)})` }, dateTime(d));
}

/** ago says how long ago a time was ("12 s ago"). */
export function ago(iso) {
  const d = parse(iso);
  if (!d) return '—';
  return duration(Date.now() - d.getTime()) + ' ago';
}

/** duration renders milliseconds as "850 ms", "12 s", "4 min", "3 h", "2 d". */
export function duration(ms) {
  const abs = Math.abs(ms);
  if (abs < 1000) return `${Math.round(ms)} ms`;
  if (abs < 120e3) return `${Math.round(ms / 1e3)} s`;
  if (abs < 2 * 3600e3) return `${Math.round(ms / 60e3)} min`;
  if (abs < 2 * 86400e3) return `${Math.round(ms / 3600e3)} h`;
  return `${Math.round(ms / 86400e3)} d`;
}

/** bytes renders a size as "1.4 MiB". */
export function bytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/** list joins patterns for display ("—" for none). */
export function list(items) {
  return items && items.length ? items.join(', ') : '—';
}

/** patterns splits a comma-separated input into trimmed, non-empty items. */
export function patterns(text) {
  return text.split(',').map((s) => s.trim()).filter(Boolean);
}

// The largest data shown per event: a huge payload would make the page
// crawl, and the full event is always one API call away.
const maxDataChars = 20000;

/** prettyJSON indents a JSON value for display, cut at maxDataChars. */
export function prettyJSON(value) {
  const text = JSON.stringify(value, null, 2) ?? 'null';
  if (text.length <= maxDataChars) return text;
  return `${text.slice(0, maxDataChars)}\n… ${text.length - maxDataChars} more characters`;
}

/**
 * eventItem renders one native event ({seq,id,time,topic,type,data}) as a
 * list item: a line of metadata and the data, pretty-printed, as text.
 */
export function eventItem(e) {
  return el('li', { class: 'event', 'data-seq': e.seq },
    el('div', { class: 'meta' },
      el('span', { class: 'seq', title: 'sequence number' }, `#${e.seq}`),
      el('time', { datetime: e.time, title: e.time }, clock(e.time)),
      el('span', { class: 'topic', title: 'topic' }, e.topic),
      el('span', { class: 'type', title: 'type' }, e.type),
      el('span', { class: 'id muted', title: 'event id' }, e.id)),
    el('pre', { class: 'data' }, prettyJSON(e.data)));
}

/**
 * confirmClick makes a dangerous button ask twice: the first click arms it
 * (its text becomes `question`) for a few seconds, the second runs action.
 * It avoids window.confirm, which blocks the page and its live streams.
 */
export function confirmClick(button, question, action) {
  const label = button.textContent;
  let timer = 0;
  button.addEventListener('click', () => {
    if (!button.classList.contains('armed')) {
      button.classList.add('armed');
      button.textContent = question;
      timer = setTimeout(() => { button.classList.remove('armed'); button.textContent = label; }, 4000);
      return;
    }
    clearTimeout(timer);
    button.classList.remove('armed');
    button.textContent = label;
    action();
  });
}

/**
 * secretNotice shows a credential that herald shows only once (a new
 * user's API key, a token) in box, with Copy and Done; Done removes it
 * from the page.
 */
export function secretNotice(box, what, secret) {
  const value = el('code', { class: 'token secret' }, secret);
  const copy = el('button', { type: 'button' }, 'Copy');
  const done = el('button', { type: 'button' }, 'Done');
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(secret);
      copy.textContent = 'Copied';
    } catch {
      getSelection().selectAllChildren(value); // no clipboard (plain HTTP): select it
    }
  });
  done.addEventListener('click', () => {
    box.replaceChildren();
    box.hidden = true;
  });
  box.className = 'notice ok';
  box.replaceChildren(el('p', {}, `${what}. Copy it now: it is not shown again.`), value, copy, done);
  box.hidden = false;
}

/**
 * repeat runs fn(signal) now and every ms (a number, or a function asked
 * after each run) until the returned stop is called; a run that is still
 * going when stop is called sees its signal aborted.
 */
export function repeat(fn, ms) {
  const controller = new AbortController();
  let timer = 0;
  const tick = async () => {
    try {
      await fn(controller.signal);
    } finally {
      if (!controller.signal.aborted) timer = setTimeout(tick, typeof ms === 'function' ? ms() : ms);
    }
  };
  tick();
  return () => {
    controller.abort();
    clearTimeout(timer);
  };
}

/**
 * whileShown is a panel's shown and hidden for one that refreshes: fn runs
 * every ms from when the panel is shown until it is hidden.
 */
export function whileShown(fn, ms) {
  let stop = null;
  const hidden = () => {
    stop?.();
    stop = null;
  };
  return { shown: () => { hidden(); stop = repeat(fn, ms); }, hidden };
}

/** table fills a table body with rows, or one row saying there is nothing. */
export function fillTable(tbody, rows, empty) {
  const cols = tbody.closest('table').querySelectorAll('thead th').length;
  tbody.replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: cols, class: 'empty' }, empty))]));
}
