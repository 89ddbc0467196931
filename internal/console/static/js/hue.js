// Hue bridge (admin): the bridge's devices with their buttons, lights,
// sensors and dials (GET /v1/hue/resources), the simulators that act on
// them — POST /v1/hue/press (short, long, double), /v1/hue/rotate,
// /v1/hue/sensor — adding a device from the catalogue (/v1/hue/devices),
// and the link button (/v1/hue/link), which opens pairing for a while.

import { $, clock, el, setStatus } from './dom.js';
import { hueAddDevice, hueLink, huePress, hueProducts, hueResources, hueRotate, hueSensor } from './api.js';

export const panel = { id: 'hue', adminOnly: true, init, shown: refresh };

let timer = 0;

function init() {
  $('#hue-press').addEventListener('click', press);
  $('#hue-refresh').addEventListener('click', refresh);
  $('#hue-add').addEventListener('submit', (ev) => {
    ev.preventDefault();
    addDevice();
  });
}

async function refresh() {
  const status = $('#hue-devices-status');
  try {
    const [{ data }, products] = await Promise.all([hueResources(), productList()]);
    render(data);
    if (products) fillProducts(products);
    if (!status.classList.contains('ok')) setStatus(status, ''); // keep the last action's outcome
  } catch (e) {
    setStatus(status, `Could not read the bridge: ${e.message}`, 'error');
  }
}

let productsLoaded = false;
async function productList() {
  if (productsLoaded) return null;
  const { data } = await hueProducts();
  productsLoaded = true;
  return data;
}

function fillProducts(products) {
  $('#hue-add').product.replaceChildren(...products.map((p) => el('option', { value: p.product }, `${p.product_name} (${p.product})`)));
}

/** render groups the bridge's services by the device that owns them. */
function render(resources) {
  const byID = new Map(resources.map((r) => [r.id, r]));
  const devices = resources.filter((r) => r.type === 'device' && r.product_data?.model_id !== 'BSB002'); // not the bridge itself
  devices.sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  const cards = devices.map((d) => deviceCard(d, (d.services ?? []).map((s) => byID.get(s.rid)).filter(Boolean)));
  if (!cards.length) cards.push(el('p', { class: 'empty' }, 'No devices yet: add one below, or with herald hue add.'));
  $('#hue-devices').replaceChildren(...cards);
}

function deviceCard(d, services) {
  const name = d.metadata?.name ?? d.id;
  const lines = [];
  const buttons = services.filter((s) => s.type === 'button').sort((a, b) => a.metadata.control_id - b.metadata.control_id);
  for (const b of buttons) lines.push(buttonLine(name, b));
  for (const s of services) {
    switch (s.type) {
      case 'light': lines.push(lightLine(s)); break;
      case 'motion': lines.push(motionLine(name, s)); break;
      case 'temperature': lines.push(readingLine(name, 'Temperature', `${s.temperature?.temperature ?? '—'} °C`, 'temperature', 21.5)); break;
      case 'light_level': lines.push(readingLine(name, 'Light level', String(s.light?.light_level ?? '—'), 'light_level', 12000)); break;
      case 'relative_rotary': lines.push(rotaryLine(name, s)); break;
      case 'device_power': lines.push(el('div', { class: 'svc' }, el('span', { class: 'label' }, 'Battery'),
        el('span', { class: 'value' }, `${s.power_state?.battery_level ?? '—'} % (${s.power_state?.battery_state ?? '—'})`))); break;
    }
  }
  return el('div', { class: 'card device', 'data-device': name },
    el('h3', {}, name),
    el('p', { class: 'muted' }, `${d.product_data?.product_name ?? ''} · ${d.product_data?.model_id ?? ''}`),
    ...lines);
}

function action(label, title, fn) {
  const b = el('button', { type: 'button', title }, label);
  b.addEventListener('click', async () => {
    b.disabled = true;
    const status = $('#hue-devices-status');
    try {
      await fn();
      setStatus(status, `${title}: done.`, 'ok');
    } catch (e) {
      setStatus(status, `${title} failed: ${e.message}`, 'error');
    } finally {
      b.disabled = false;
      refresh();
    }
  });
  return b;
}

function buttonLine(device, b) {
  const report = b.button?.button_report;
  const last = report ? `${report.event} at ${clock(report.updated)}` : 'not pressed yet';
  const id = b.id;
  return el('div', { class: 'svc', 'data-button': b.metadata.control_id },
    el('span', { class: 'label' }, `Button ${b.metadata.control_id}`),
    el('span', { class: 'value' }, last),
    el('span', { class: 'actions' },
      action('Press', `Press button ${b.metadata.control_id} of ${device}`, () => huePress(id, 'short')),
      action('Long', `Long-press button ${b.metadata.control_id} of ${device}`, () => huePress(id, 'long')),
      action('Double', `Double-press button ${b.metadata.control_id} of ${device}`, () => huePress(id, 'double'))));
}

function lightLine(l) {
  const on = l.on?.on ? 'on' : 'off';
  const bri = l.dimming ? ` · ${Math.round(l.dimming.brightness)} %` : '';
  return el('div', { class: 'svc' }, el('span', { class: 'label' }, 'Light'),
    el('span', { class: `value ${on === 'on' ? 'good' : 'muted'}` }, `${on}${bri}`),
    el('span', { class: 'hint' }, 'changed by Hue apps (PUT /clip/v2/resource/light/…)'));
}

function motionLine(device, s) {
  const m = s.motion?.motion;
  return el('div', { class: 'svc' }, el('span', { class: 'label' }, 'Motion'),
    el('span', { class: 'value' }, m ? 'motion' : 'no motion'),
    el('span', { class: 'actions' },
      action('Motion', `Report motion at ${device}`, () => hueSensor({ device, motion: true })),
      action('Clear', `Report no motion at ${device}`, () => hueSensor({ device, motion: false }))));
}

function readingLine(device, label, value, field, example) {
  const input = el('input', { type: 'number', step: 'any', value: example, 'aria-label': `${label} of ${device}`, class: 'small' });
  return el('div', { class: 'svc' }, el('span', { class: 'label' }, label),
    el('span', { class: 'value' }, value),
    el('span', { class: 'actions' }, input,
      action('Report', `Report ${label.toLowerCase()} at ${device}`, () => hueSensor({ device, [field]: Number(input.value) }))));
}

function rotaryLine(device, s) {
  const r = s.relative_rotary?.rotary_report ?? s.relative_rotary?.last_event;
  const last = r?.rotation ? `${r.rotation.direction} ${r.rotation.steps} steps` : 'not turned yet';
  return el('div', { class: 'svc' }, el('span', { class: 'label' }, 'Dial'),
    el('span', { class: 'value' }, last),
    el('span', { class: 'actions' },
      action('↺ 30', `Turn ${device} left`, () => hueRotate(device, -30)),
      action('↻ 30', `Turn ${device} right`, () => hueRotate(device, 30))));
}

async function addDevice() {
  const form = $('#hue-add');
  const status = $('#hue-devices-status');
  try {
    await hueAddDevice(form.product.value, form.name.value.trim());
    setStatus(status, `Added ${form.name.value.trim()}.`, 'ok');
    form.name.value = '';
  } catch (e) {
    setStatus(status, `Could not add the device: ${e.message}`, 'error');
  }
  refresh();
}

async function press() {
  const button = $('#hue-press');
  const status = $('#hue-status');
  button.disabled = true;
  try {
    const { until } = await hueLink();
    countdown(new Date(until));
  } catch (e) {
    setStatus(status, `Could not press the link button: ${e.message}`, 'error');
  } finally {
    button.disabled = false;
  }
}

function countdown(until) {
  clearInterval(timer);
  const status = $('#hue-status');
  const tick = () => {
    const left = Math.round((until - Date.now()) / 1000);
    if (left <= 0) {
      clearInterval(timer);
      setStatus(status, `The pairing window closed at ${clock(until)}. Press again to pair another app.`);
      status.dataset.state = 'closed';
      return;
    }
    setStatus(status, `Pressed. Hue apps can pair until ${clock(until)} — ${left} s left.`, 'ok');
    status.dataset.state = 'open';
  };
  tick();
  timer = setInterval(tick, 1000);
}
