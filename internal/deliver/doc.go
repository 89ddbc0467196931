// Package deliver owns live delivery end to end: a stream's lifecycle from
// the handler that opens it to its close at shutdown, Server-Sent Events
// (ServeSSE) and WebSockets (ServeWS), the fan-out workers that write to
// caught-up streams, and the poller that reads WebSocket clients. The hub
// keeps the window of recent events; this package writes them to sockets.
//
// # Ownership
//
// A stream (SSE or WebSocket) is owned by exactly one goroutine at a time:
//
//   - the handler, until it detaches the connection (and for as long as
//     the stream lives where it cannot: HTTP/2);
//   - a stream goroutine (see Engine.Go) while it waits, catches up from
//     the log or writes with blocking calls under the write timeout;
//   - a fan-out worker while the stream is caught up; it hands the stream
//     back to a new stream goroutine when a write does not fit the socket
//     or the stream falls behind the hub's window.
//
// Who writes: the owner writes events, keep-alives and the goodbye. A
// WebSocket's peer reader (a short-lived goroutine per readable socket, or
// one per socket where the poller cannot watch it) also writes pongs and
// the closing handshake, under the stream's write lock; a worker only
// tries that lock, and if it is held gives the stream to a goroutine for
// that write rather than make the round wait.
//
// Who closes: only the owner, once. It takes the write lock, marks the
// stream closed (so the peer reader writes nothing more), removes the
// socket from the poller, releases the lock, then closes the connection
// and the subscription and frees the key's stream slot. A peer reader
// that finds the client gone only marks the stream and shuts the socket
// down; the owner ends it at its next look.
//
// A fault rule's cut (faults.go) is the owner ending the stream, between
// whole writes, like any other end.
//
// A parked poll (ServePoll) and the connection it detached (conn) follow
// the same rule: one owner at a time — the goroutine serving a request on
// the connection, the fan-out worker the parked poll joined, the goroutine
// a worker hands a slow answer to, or the idle set while the connection
// waits for its next request. The poller only reports readiness: for an
// idle connection it makes the reader goroutine the owner, for a parked
// one it marks the poll (a hang-up drops it at the worker's next look).
// State moves under the engine's connMu; only the owner closes, after
// removing the socket from the poller.
//
// Lock order: a stream's write lock, then the poller's lock. A worker's
// lock guards only its hand-over lists and is never held with either;
// connMu is never held with any of them.
package deliver
