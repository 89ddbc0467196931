package eventlog

import (
	"context"
	"fmt"
	"os"
	"sync"
)

// committer implements group commit for FsyncAlways with the embedded engine.
//
// JetStream with sync_always fsyncs once per message (~4k msg/s on the
// reference disk), however many publishers wait. Instead herald runs the
// engine in its default mode, where a message is written to the operating
// system before its ack, and after the acks of an append it asks the
// committer for a sync: one syncfs(2) of the store's filesystem covers every
// append acknowledged before it started, so concurrent appends share it.
type committer struct {
	dir  *os.File
	reqs chan chan error
	done chan struct{}
	wg   sync.WaitGroup
}

func newCommitter(dir string) (*committer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("eventlog: group commit: %w", err)
	}
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("eventlog: group commit: %w", err)
	}
	c := &committer{dir: f, reqs: make(chan chan error, 1024), done: make(chan struct{})}
	c.wg.Add(1)
	go c.run()
	return c, nil
}

// sync returns once everything written before the call is on stable storage.
func (c *committer) sync(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case c.reqs <- reply:
	case <-c.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *committer) run() {
	defer c.wg.Done()
	var group []chan error
	for {
		select {
		case r := <-c.reqs:
			group = append(group[:0], r)
		case <-c.done:
			return
		}
		// Everyone already waiting joins this sync: their data was written
		// before they asked, so one sync started now covers them all.
	drain:
		for {
			select {
			case r := <-c.reqs:
				group = append(group, r)
			default:
				break drain
			}
		}
		err := syncFS(c.dir)
		if err != nil {
			err = fmt.Errorf("group commit: %w", err)
		}
		for _, r := range group {
			r <- err
		}
	}
}

func (c *committer) close() {
	close(c.done)
	c.wg.Wait()
	c.dir.Close()
}
