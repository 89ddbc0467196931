// Package auth holds herald's API keys: their storage, the tokens that
// present them, the topic scopes they grant and the per-key rate limits.
//
// A key is stored in an eventlog.KV bucket as JSON under "key.<id>" with
// only the SHA-256 of its secret, so a copy of the engine's data never
// yields a working token. An alias (alias.go) is a second credential of a
// key, stored the same way under "alias.<namespace>.<digest prefix>", for
// clients that present something other than a herald token (a Jetstream
// access key). Every node keeps the bucket in memory and watches it, so a
// key or alias created or removed on one node is honoured on all of them
// without a restart.
package auth
