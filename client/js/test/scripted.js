// A scripted HTTP server for the tests that need exact answers: each
// request gets the next step of the script.
import { createServer } from 'node:http';

/**
 * @typedef {{status: number, headers?: Record<string, string>, body?: unknown,
 *   sse?: string, hold?: boolean}} Step
 * @param {Step[]} script
 */
export async function scripted(script) {
  const seen = [];
  const open = new Set();
  let n = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      const st = script[n++] ?? { status: 418, body: { error: { code: 'script_over', message: 'script over' } } };
      const headers = { ...st.headers };
      if (st.sse !== undefined) {
        res.writeHead(st.status, { 'Content-Type': 'text/event-stream', ...headers });
        res.write(st.sse);
        if (!st.hold) return res.end();
        open.add(res);
        res.on('close', () => open.delete(res));
        return;
      }
      if (st.body !== undefined) headers['Content-Type'] ??= 'application/json';
      res.writeHead(st.status, headers);
      res.end(st.body === undefined ? '' : typeof st.body === 'string' ? st.body : JSON.stringify(st.body));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    /** the responses still held open */
    open,
    async close() {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** sseEvent is one event frame as herald writes it. */
export function sseEvent(seq, type = 't') {
  return `id: ${seq}\nevent: ${type}\ndata: {"seq":${seq},"id":"e${seq}","time":"2026-01-01T00:00:00Z","topic":"app.x","type":"${type}","data":null}\n\n`;
}
