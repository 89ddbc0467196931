package deliver

import (
	"errors"
	"sync"

	"github.com/herald-io/herald/internal/hub"
)

// DefaultStreamsPerKey is how many streams one key may have open on a
// node unless Config.StreamsPerKey says otherwise: far more than a client
// needs, far fewer than the process's file descriptors.
const DefaultStreamsPerKey = 1000

// ErrTooManyStreams is what ServeSSE and ServeWS return, having written
// nothing, when the stream's key already has as many streams open as it
// may; the dialect answers 429 in its own shape.
var ErrTooManyStreams = errors.New("deliver: too many streams open for this key")

// admit takes a slot for a stream of key, or closes its subscription and
// says why not.
func (e *Engine) admit(key string, sub *hub.Sub) error {
	if !e.keys.acquire(key) {
		sub.Close()
		return ErrTooManyStreams
	}
	return nil
}

// keyStreams counts the open streams of each key. A stream takes its slot
// before anything is written and gives it back when its owner ends it
// (Engine.end), once, whoever the owner is then.
type keyStreams struct {
	limit int // < 0: no cap

	mu   sync.Mutex
	open map[string]int
}

func newKeyStreams(limit int) *keyStreams {
	if limit == 0 {
		limit = DefaultStreamsPerKey
	}
	return &keyStreams{limit: limit, open: map[string]int{}}
}

// acquire takes a slot for a stream of key; false if it has none left.
// Streams without a key are not counted.
func (k *keyStreams) acquire(key string) bool {
	if key == "" || k.limit < 0 {
		return true
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.open[key] >= k.limit {
		return false
	}
	k.open[key]++
	return true
}

// release gives back a slot acquire took.
func (k *keyStreams) release(key string) {
	if key == "" || k.limit < 0 {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.open[key]--; k.open[key] == 0 {
		delete(k.open, key)
	}
}

// count returns how many streams key has open.
func (k *keyStreams) count(key string) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.open[key]
}
