package api

import (
	_ "embed"
	"net/http"
	"slices"
)

// openAPI is the OpenAPI 3 document of the JSON API, served at
// /api/v1/openapi.json. A test checks it against the routes New registers
// and validates real responses against it, so it cannot drift from the
// handlers.
//
//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the OpenAPI 3 document of the JSON API (JSON).
func OpenAPI() []byte { return slices.Clone(openAPI) }

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openAPI)
}

// public registers an endpoint that needs no token.
func (h *handler) public(pattern string, fn http.HandlerFunc) {
	h.routes = append(h.routes, pattern)
	h.mux.HandleFunc(pattern, fn)
}

// Routes returns the pattern ("METHOD /path/{param}") of every endpoint
// New registers under /api/v1/.
func Routes() []string { return slices.Clone(newHandler(Options{}).routes) }
