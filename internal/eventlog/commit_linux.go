package eventlog

import (
	"os"

	"golang.org/x/sys/unix"
)

const groupCommitSupported = true

// syncFS flushes the whole filesystem holding f: the engine's block files,
// their metadata and directory entries.
func syncFS(f *os.File) error {
	return unix.Syncfs(int(f.Fd()))
}
