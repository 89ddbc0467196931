package eventlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Backup and restore move whole streams (the log and each KV bucket, which
// is the stream KV_<bucket>) with the engine's own snapshot and restore.
// nats.go's jetstream package has no call for them, and jsm.go (the nats
// CLI's library) is not a dependency herald can take, so this file speaks
// the documented JetStream API itself:
//
//   - Snapshot: a request to $JS.API.STREAM.SNAPSHOT.<stream> names an
//     inbox; the engine sends the snapshot there in chunks, each with a reply
//     subject that must be answered (the ack that frees a slot of its
//     window: flow control), then an empty message whose status is 204, or
//     an error status. An unanswered chunk stalls it, and after 5 s the
//     engine gives up, so the writer must keep up (herald spools to disk).
//   - Restore: a request to $JS.API.STREAM.RESTORE.<stream> with the
//     stream's configuration answers with a subject; each chunk sent there
//     as a request is acked (an empty answer, or an error), and an empty
//     request ends the restore and answers with the new stream's info. The
//     engine refuses a stream that exists.

// ErrStreamExists means a restore found the stream already in the engine.
var ErrStreamExists = errors.New("stream exists")

const (
	apiPrefix = "$JS.API."
	// snapshotChunk is the chunk size asked of (and sent to) the engine: its
	// default, within its 1 KiB–1 MiB bounds.
	snapshotChunk = 128 << 10
	// snapshotWindow bounds the bytes the engine sends ahead of our acks.
	snapshotWindow = 8 << 20
	// apiTimeout bounds each request to the engine, the end of a restore
	// (which checks what it wrote) included.
	apiTimeout = 2 * time.Minute
)

// Engine is the engine as a set of streams, for backup and restore. An
// Engine from Log.Engine shares the log's connection; one from OpenEngine
// owns its connection (and embedded engine) until Close.
type Engine struct {
	nc  *nats.Conn
	js  jetstream.JetStream
	ns  *server.Server // started by OpenEngine; nil otherwise
	own bool
	// Log is the name of the log's stream.
	Log string
}

// StreamInfo is one stream's name and state.
type StreamInfo struct {
	Name     string `json:"name"`
	FirstSeq uint64 `json:"first_seq"`
	LastSeq  uint64 `json:"last_seq"`
	Messages uint64 `json:"messages"`
	Bytes    uint64 `json:"bytes"`
}

// Snapshot is what a snapshot recorded of its stream: its configuration
// as the engine states it (for the restore) and its state when taken.
type Snapshot struct {
	Config json.RawMessage `json:"config"`
	StreamInfo
}

// Engine returns the log's engine, sharing its connection: Close on it
// does nothing.
func (l *Log) Engine() *Engine {
	return &Engine{nc: l.nc, js: l.js, Log: l.stream}
}

// OpenEngine starts (or connects to) the engine as Open does, but creates
// nothing: a restore must create the streams itself.
func OpenEngine(cfg Config) (*Engine, error) {
	if cfg.Stream == "" {
		cfg.Stream = "HERALD"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ns, nc, err := dial(cfg)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		stopEngine(ns)
		return nil, fmt.Errorf("eventlog: %w", err)
	}
	return &Engine{nc: nc, js: js, ns: ns, own: true, Log: cfg.Stream}, nil
}

// Close disconnects (and stops the embedded engine) if OpenEngine made e.
func (e *Engine) Close() error {
	if !e.own {
		return nil
	}
	closeConn(e.nc)
	stopEngine(e.ns)
	return nil
}

// Streams lists the engine's streams with their state, by name.
func (e *Engine) Streams(ctx context.Context) ([]StreamInfo, error) {
	var out []StreamInfo
	l := e.js.ListStreams(ctx)
	for si := range l.Info() {
		out = append(out, StreamInfo{Name: si.Config.Name, FirstSeq: si.State.FirstSeq,
			LastSeq: si.State.LastSeq, Messages: si.State.Msgs, Bytes: si.State.Bytes})
	}
	if err := l.Err(); err != nil {
		return nil, fmt.Errorf("eventlog: list streams: %w", engineErr(err))
	}
	return out, nil
}

// Delete removes a stream and everything in it.
func (e *Engine) Delete(ctx context.Context, name string) error {
	if err := e.js.DeleteStream(ctx, name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("eventlog: delete stream %s: %w", name, engineErr(err))
	}
	return nil
}

// Snapshot writes a snapshot of stream name to w (the engine's own
// format, opaque to herald) and returns what it recorded. w must keep up:
// see the file's comment.
func (e *Engine) Snapshot(ctx context.Context, name string, w io.Writer) (Snapshot, error) {
	inbox := e.nc.NewInbox()
	sub, err := e.nc.SubscribeSync(inbox)
	if err != nil {
		return Snapshot{}, fmt.Errorf("eventlog: snapshot %s: %w", name, engineErr(err))
	}
	defer sub.Unsubscribe()
	req, _ := json.Marshal(server.JSApiStreamSnapshotRequest{
		DeliverSubject: inbox, NoConsumers: true, ChunkSize: snapshotChunk, WindowSize: snapshotWindow,
	})
	var resp struct {
		Error  *server.ApiError   `json:"error"`
		Config json.RawMessage    `json:"config"`
		State  server.StreamState `json:"state"`
	}
	if err := e.request(ctx, apiPrefix+"STREAM.SNAPSHOT."+name, req, &resp); err != nil {
		return Snapshot{}, fmt.Errorf("eventlog: snapshot %s: %w", name, err)
	}
	if resp.Error != nil {
		return Snapshot{}, fmt.Errorf("eventlog: snapshot %s: %s", name, resp.Error.Description)
	}
	snap := Snapshot{Config: resp.Config, StreamInfo: StreamInfo{Name: name,
		FirstSeq: resp.State.FirstSeq, LastSeq: resp.State.LastSeq, Messages: resp.State.Msgs, Bytes: resp.State.Bytes}}
	for {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return Snapshot{}, fmt.Errorf("eventlog: snapshot %s: %w", name, engineErr(err))
		}
		if len(m.Data) == 0 {
			// The end: 204, or why the engine stopped.
			if st := m.Header.Get("Status"); st != "" && st != "204" {
				return Snapshot{}, fmt.Errorf("eventlog: snapshot %s: engine stopped: %s %s", name, st, m.Header.Get("Description"))
			}
			return snap, nil
		}
		if _, err := w.Write(m.Data); err != nil {
			return Snapshot{}, fmt.Errorf("eventlog: snapshot %s: %w", name, err)
		}
		if m.Reply != "" { // the last chunk has none
			if err := m.Respond(nil); err != nil {
				return Snapshot{}, fmt.Errorf("eventlog: snapshot %s: ack: %w", name, engineErr(err))
			}
		}
	}
}

// Restore creates the stream a snapshot recorded from r, the snapshot's
// bytes, and returns its state. replicas > 0 replaces the recorded
// replica count (a backup of an embedded server restored into a cluster).
// A stream of that name must not exist (ErrStreamExists). If r fails, the
// engine abandons the restore (it stalls, and gives up after 5 s).
func (e *Engine) Restore(ctx context.Context, snap Snapshot, replicas int, r io.Reader) (StreamInfo, error) {
	name := snap.Name
	var cfg server.StreamConfig
	if err := json.Unmarshal(snap.Config, &cfg); err != nil {
		return StreamInfo{}, fmt.Errorf("eventlog: restore %s: configuration: %w", name, err)
	}
	if cfg.Name != name {
		return StreamInfo{}, fmt.Errorf("eventlog: restore %s: the configuration is of stream %q", name, cfg.Name)
	}
	if replicas > 0 {
		cfg.Replicas = replicas
	}
	if _, err := e.js.Stream(ctx, name); err == nil {
		return StreamInfo{}, fmt.Errorf("eventlog: restore %s: %w", name, ErrStreamExists)
	}
	req, _ := json.Marshal(server.JSApiStreamRestoreRequest{Config: cfg, State: server.StreamState{
		FirstSeq: snap.FirstSeq, LastSeq: snap.LastSeq, Msgs: snap.Messages, Bytes: snap.Bytes,
	}})
	var resp struct {
		Error          *server.ApiError `json:"error"`
		DeliverSubject string           `json:"deliver_subject"`
	}
	if err := e.request(ctx, apiPrefix+"STREAM.RESTORE."+name, req, &resp); err != nil {
		return StreamInfo{}, fmt.Errorf("eventlog: restore %s: %w", name, err)
	}
	if resp.Error != nil {
		if resp.Error.ErrCode == uint16(server.JSStreamNameExistRestoreFailedErr) {
			return StreamInfo{}, fmt.Errorf("eventlog: restore %s: %w", name, ErrStreamExists)
		}
		return StreamInfo{}, fmt.Errorf("eventlog: restore %s: %s", name, resp.Error.Description)
	}
	chunk := make([]byte, snapshotChunk)
	for {
		n, rerr := io.ReadFull(r, chunk)
		if n > 0 {
			// One chunk in flight: the engine writes each to disk before its
			// ack, so a deeper pipeline would only queue in its pipe.
			var ack struct {
				Error *server.ApiError `json:"error"`
			}
			if err := e.request(ctx, resp.DeliverSubject, chunk[:n], &ack); err != nil {
				return StreamInfo{}, fmt.Errorf("eventlog: restore %s: %w", name, err)
			}
			if ack.Error != nil {
				return StreamInfo{}, fmt.Errorf("eventlog: restore %s: %s", name, ack.Error.Description)
			}
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return StreamInfo{}, fmt.Errorf("eventlog: restore %s: read snapshot: %w", name, rerr)
		}
	}
	var done struct { // a stream create response: the stream's info at the top level
		Error *server.ApiError    `json:"error"`
		State *server.StreamState `json:"state"`
	}
	if err := e.request(ctx, resp.DeliverSubject, nil, &done); err != nil {
		return StreamInfo{}, fmt.Errorf("eventlog: restore %s: %w", name, err)
	}
	if done.Error != nil || done.State == nil {
		msg := "no stream was created"
		if done.Error != nil {
			msg = done.Error.Description
		}
		return StreamInfo{}, fmt.Errorf("eventlog: restore %s: %s", name, msg)
	}
	st := done.State
	return StreamInfo{Name: name, FirstSeq: st.FirstSeq, LastSeq: st.LastSeq, Messages: st.Msgs, Bytes: st.Bytes}, nil
}

// request sends a request and decodes its JSON answer (empty: nothing),
// waiting at most apiTimeout: an engine that lost the request must not
// hang a backup.
func (e *Engine) request(ctx context.Context, subject string, data []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	m, err := e.nc.RequestWithContext(ctx, subject, data)
	if err != nil {
		return engineErr(err)
	}
	if len(m.Data) == 0 {
		return nil
	}
	if err := json.Unmarshal(m.Data, out); err != nil {
		return fmt.Errorf("engine answer %q: %w", strings.TrimSpace(string(m.Data[:min(len(m.Data), 200)])), err)
	}
	return nil
}
