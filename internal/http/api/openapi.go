package api

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"sync"

	"github.com/gatehouse/gatehouse/internal/http/respond"
	"github.com/getkin/kin-openapi/openapi3"
)

// OpenAPIYAML is the native API's OpenAPI 3.1 document, kept beside the
// handlers so that a change to one shows in the same diff as the other.
//
//go:embed openapi.yaml
var OpenAPIYAML []byte

var openAPIJSON = sync.OnceValues(func() ([]byte, error) {
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPIYAML)
	if err != nil {
		return nil, err
	}
	return json.Marshal(doc)
})

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	b, err := openAPIJSON()
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}
