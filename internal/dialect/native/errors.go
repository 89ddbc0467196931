package native

import (
	"github.com/herald-io/herald/internal/dialect"
)

// badRequest is a request the client must fix (400 bad_request).
func badRequest(format string, args ...any) error {
	return dialect.Errorf(dialect.BadRequest, format, args...)
}

// forbidden is a valid key whose scopes do not allow the request.
func forbidden(format string, args ...any) error {
	return dialect.Errorf(dialect.Forbidden, format, args...)
}
