package auth

import "errors"

// Errors callers branch on; they are wrapped with details where useful, so
// test for them with errors.Is.
var (
	// ErrUnauthorized means the credential is missing, malformed, unknown or
	// wrong. It deliberately does not say which.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden means the key is valid but its scopes do not allow the request.
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound means no key has the given id.
	ErrNotFound = errors.New("key not found")
	// ErrInvalid means a key specification was rejected; the wrapping error
	// says what is wrong.
	ErrInvalid = errors.New("invalid key specification")
)
