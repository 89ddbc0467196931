package memkv

import (
	"context"
	"fmt"
	"strings"

	"github.com/herald-io/herald/internal/eventlog"
)

// check refuses a call whose context has ended or whose key the engine
// would refuse.
func check(ctx context.Context, key string) error {
	if len(key) > eventlog.MaxKeyLen {
		return fmt.Errorf("memkv: key of %d bytes, at most %d: %w", len(key), eventlog.MaxKeyLen, eventlog.ErrInvalidKey)
	}
	if !validKey(key) {
		return fmt.Errorf("memkv: invalid key %q: %w", key, eventlog.ErrInvalidKey)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memkv: %s: %w", key, err)
	}
	return nil
}

// checkPrefix accepts what eventlog.KV's List and Watch do: "" or a key
// followed by ".".
func checkPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if len(prefix) > eventlog.MaxKeyLen {
		return fmt.Errorf("memkv: prefix of %d bytes, at most %d: %w", len(prefix), eventlog.MaxKeyLen, eventlog.ErrInvalidKey)
	}
	if k, ok := strings.CutSuffix(prefix, "."); ok && validKey(k) {
		return nil
	}
	return fmt.Errorf("memkv: prefix %q must be empty or a key followed by '.'", prefix)
}

// validKey is the engine's rule: dot-separated, non-empty tokens of ASCII
// letters, digits and "-/_=".
func validKey(key string) bool {
	if key == "" || key[0] == '.' || key[len(key)-1] == '.' || strings.Contains(key, "..") {
		return false
	}
	for i := 0; i < len(key); i++ {
		switch c := key[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '/', c == '_', c == '=', c == '.':
		default:
			return false
		}
	}
	return true
}
