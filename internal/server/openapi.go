package server

import (
	_ "embed"
	"net/http"
)

// openAPI describes every endpoint; a test holds it to the routes and to
// the answers the server really gives.
//
//go:embed openapi.json
var openAPI []byte

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h["Content-Type"] = contentTypeJSON
	h.Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(openAPI)
}
