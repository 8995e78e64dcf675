package api

import (
	"net/http/httptest"
	"sort"
)

// ExactRouteMismatches lists the exact routes (see exactRoute) that the mux
// would not resolve to the same pattern, or that route would not take, for
// a request naming their method and path on a few hosts; and how many
// exact routes there are.
func (s *Server) ExactRouteMismatches() (bad []string, n int) {
	s.Handler()
	for path, routes := range s.exact {
		for _, e := range routes {
			n++
			for _, host := range []string{"gatehouse.test", "localhost:8080", "127.0.0.1", ""} {
				r := httptest.NewRequest(e.method, path, nil)
				r.Host = host
				if _, p := s.mux.Handler(r); p != e.pattern {
					bad = append(bad, e.pattern+" on "+host+": the mux picks "+p)
				}
				if got := s.exactHandler(r); got == nil || got.pattern != e.pattern {
					bad = append(bad, e.pattern+" on "+host+": route does not take it")
				}
			}
		}
	}
	sort.Strings(bad)
	return bad, n
}
