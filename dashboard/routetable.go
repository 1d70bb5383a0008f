package dashboard

import "net/http"

// routeMux is the server's mux, remembering every pattern registered, so
// the security tests can check that each route has an authorization rule
// (internal/test/securitytest): a new route without one fails them.
type routeMux struct {
	*http.ServeMux
	patterns []string
}

func (m *routeMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.HandleFunc(pattern, h)
}

func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

// Routes lists every pattern the server serves ("GET /api/v1/cameras").
func (s *Server) Routes() []string { return append([]string(nil), s.patterns...) }
