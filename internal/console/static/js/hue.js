// Hue link button (admin): POST /v1/hue/link presses it; the answer says
// until when Hue apps may pair. A countdown shows the window closing.

import { $, setStatus } from './dom.js';
import { api } from './api.js';

export const panel = { id: 'hue', adminOnly: true, init, shown() {} };

let timer = 0;

function init() {
  $('#hue-press').addEventListener('click', press);
}

async function press() {
  const button = $('#hue-press');
  const status = $('#hue-status');
  button.disabled = true;
  try {
    const { until } = await api('/v1/hue/link', { method: 'POST' });
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
      setStatus(status, `The pairing window closed at ${until.toLocaleTimeString()}. Press again to pair another app.`);
      status.dataset.state = 'closed';
      return;
    }
    setStatus(status, `Pressed. Hue apps can pair until ${until.toLocaleTimeString()} — ${left} s left.`, 'ok');
    status.dataset.state = 'open';
  };
  tick();
  timer = setInterval(tick, 1000);
}
