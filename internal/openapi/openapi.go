// Package openapi holds the OpenAPI 3.1 description of herald's native and
// admin API (every /v1/ route that is not a vendor's own path), served
// openly at GET /v1/openapi.json. The document is written by hand;
// internal/server's TestOpenAPI keeps it true by validating live requests
// and answers of every route against it.
package openapi

import (
	_ "embed"
	"net/http"
	"strconv"
)

// Path is where the document is served.
const Path = "/v1/openapi.json"

//go:embed openapi.json
var document []byte

// Document returns a copy of the document (JSON).
func Document() []byte { return append([]byte(nil), document...) }

// Handler serves the document. It needs no key: it is documentation, not
// data, and peers publish theirs the same way.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(document)))
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Write(document)
	})
}
