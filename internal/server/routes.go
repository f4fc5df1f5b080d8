package server

// routes is the whole API on one screen.
func (s *Server) routes() {
	m := s.mux

	// Health and operations (SPEC §8).
	m.HandleFunc("GET /{$}", s.handleRoot)
	m.HandleFunc("GET /healthz", s.handleHealthz)
	m.HandleFunc("GET /readyz", s.handleReadyz)

	// Accounts (SPEC §2).
	m.HandleFunc("POST /auth/signup", s.handleSignup)
	m.HandleFunc("POST /auth/login", s.handleLogin)
	m.HandleFunc("GET /auth/me", s.authed(s.handleMe))
	m.HandleFunc("GET /auth/users", s.authed(s.handleUsers))
	m.HandleFunc("PATCH /auth/users/{id}", s.authed(s.handleUpdateUser))
	m.HandleFunc("PATCH /auth/password", s.authed(s.handleChangePassword))
}
