package server

import "time"

// ObserveForTest records one request under any route, so that a test can
// see how /metrics writes a label value no real route has.
func (s *Server) ObserveForTest(route, method string, status int) {
	s.metrics.observe(route, method, status, time.Millisecond)
}

// DurationMs is the access log's durationMs of d.
var DurationMs = durationMs
