// @herald/client: herald's native API for browsers and Node 20+, as plain
// ES modules (no build step, no dependencies). Types: index.d.ts.
export { Herald, MaxPublish, newId } from './src/client.js';
export { HeraldError } from './src/errors.js';
export { Stream } from './src/stream.js';
export { SSEParser } from './src/sse.js';
