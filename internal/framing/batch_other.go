//go:build !linux

package framing

import "errors"

type uring struct{}

func newURing(int) (*uring, error) { return nil, errors.New("framing: io_uring is Linux only") }

func (*uring) send(*Batch) error { return errors.ErrUnsupported }

func (*uring) close() {}
