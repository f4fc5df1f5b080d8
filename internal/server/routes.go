package server

import (
	"net/http"

	"github.com/keyboxhq/keybox/internal/web"
)

// routes is the whole API on one screen.
func (s *Server) routes() {
	m := routeList{s}

	// Health and operations (SPEC §8).
	m.HandleFunc("GET /{$}", s.handleRoot)
	m.HandleFunc("GET /healthz", s.handleHealthz)
	m.HandleFunc("GET /readyz", s.handleReadyz)
	m.HandleFunc("GET /metrics", s.handleMetrics)
	m.HandleFunc("GET /openapi.json", s.handleOpenAPI)

	// Accounts (SPEC §2).
	m.HandleFunc("POST /auth/signup", s.handleSignup)
	m.HandleFunc("POST /auth/login", s.handleLogin)
	m.HandleFunc("GET /auth/me", s.authed(s.handleMe))
	m.HandleFunc("GET /auth/users", s.authed(s.handleUsers))
	m.HandleFunc("PATCH /auth/users/{id}", s.authed(s.handleUpdateUser))
	m.HandleFunc("PATCH /auth/password", s.authed(s.handleChangePassword))
	m.HandleFunc("DELETE /auth/users/{id}", s.authed(s.handleDeleteUser))
	m.HandleFunc("POST /auth/refresh", s.authed(s.handleRefresh))
	m.HandleFunc("POST /auth/logout-all", s.authed(s.handleLogoutAll))

	// Sign in with Google or an OpenID Connect provider.
	m.HandleFunc("GET /auth/providers", s.handleProviders)
	m.HandleFunc("GET /auth/google", s.signInStart("google"))
	m.HandleFunc("GET /auth/google/callback", s.signInCallback("google"))
	m.HandleFunc("GET /auth/oidc", s.signInStart("oidc"))
	m.HandleFunc("GET /auth/oidc/callback", s.signInCallback("oidc"))
	m.HandleFunc("POST /auth/exchange", s.handleExchange)

	// Clients (SPEC §3).
	m.HandleFunc("POST /clients", s.authed(s.handleCreateClient))
	m.HandleFunc("GET /clients", s.authed(s.handleListClients))
	m.HandleFunc("GET /clients/{id}", s.authed(s.handleGetClient))
	m.HandleFunc("PATCH /clients/{id}", s.authed(s.handleUpdateClient))
	m.HandleFunc("DELETE /clients/{id}", s.authed(s.handleDeleteClient))

	// Projects (SPEC §4).
	m.HandleFunc("POST /projects/createProject", s.authed(s.handleCreateProjectWithLicense))
	m.HandleFunc("POST /projects", s.authed(s.handleCreateProject))
	m.HandleFunc("GET /projects", s.authed(s.handleListProjects))
	m.HandleFunc("GET /projects/{id}", s.authed(s.handleGetProject))
	m.HandleFunc("PATCH /projects/{id}", s.authed(s.handleRenameProject))
	m.HandleFunc("DELETE /projects/{id}", s.authed(s.handleDeleteProject))
	m.HandleFunc("GET /projects/{id}/policy", s.authed(s.handleGetPolicy))
	m.HandleFunc("PATCH /projects/{id}/policy", s.authed(s.handlePatchPolicy))

	// Licenses (SPEC §5).
	m.HandleFunc("POST /license/create", s.authed(s.handleCreateLicense))
	m.HandleFunc("GET /license", s.authed(s.handleListLicenses))
	m.HandleFunc("GET /license/me", s.authed(s.handleLicenseMe))
	m.HandleFunc("GET /license/user/{id}", s.authed(s.handleLicenseUser))
	m.HandleFunc("GET /license/{key}", s.authed(s.handleGetLicense))
	m.HandleFunc("PATCH /license/revoke/{key}", s.authed(s.handleToggleRevoke))
	m.HandleFunc("POST /license/renew/{key}", s.authed(s.handleRenewLicense))
	m.HandleFunc("PATCH /license/renew/{key}", s.authed(s.handleRenewLicense)) // KeyBox's newer servers
	m.HandleFunc("PATCH /license/{key}", s.authed(s.handlePatchLicense))
	m.HandleFunc("DELETE /license/{key}/activations/{activationId}", s.authed(s.handleRemoveActivation))

	// Public license API (SPEC §7): called by shipped applications, no JWT.
	m.HandleFunc("POST /validate", s.handleValidate)
	m.HandleFunc("POST /validate/activate", s.handleActivate)
	m.HandleFunc("POST /validate/deactivate", s.handleDeactivate)
	m.HandleFunc("POST /validate/checkout", s.handleCheckout)
	m.HandleFunc("POST /validate/heartbeat", s.handleHeartbeat)
	m.HandleFunc("GET /validate/public-keys", s.handlePublicKeys)
	m.HandleFunc("POST /license/{$}", s.handleValidate)
	m.HandleFunc("POST /license/activate", s.handleActivate)

	// Dashboard (SPEC §6).
	m.HandleFunc("GET /dashboard", s.authed(s.handleDashboard))
	m.HandleFunc("GET /dashboard/stats", s.authed(s.handleStats))

	// The event log and webhooks.
	m.HandleFunc("GET /events", s.authed(s.handleListEvents))
	m.HandleFunc("POST /webhooks", s.authed(s.handleCreateWebhook))
	m.HandleFunc("GET /webhooks", s.authed(s.handleListWebhooks))
	m.HandleFunc("GET /webhooks/{id}", s.authed(s.handleGetWebhook))
	m.HandleFunc("PATCH /webhooks/{id}", s.authed(s.handleUpdateWebhook))
	m.HandleFunc("DELETE /webhooks/{id}", s.authed(s.handleDeleteWebhook))
	m.HandleFunc("GET /webhooks/{id}/deliveries", s.authed(s.handleListDeliveries))
	m.HandleFunc("POST /webhooks/{id}/test", s.authed(s.handleTestWebhook))

	// The web dashboard: one page and its assets; browsers asking for / are
	// sent there (handleRoot).
	m.Handle("GET /app/", dashboardHeaders(web.Handler()))
	m.Handle("GET /app", http.RedirectHandler(web.Path, http.StatusMovedPermanently))
}

// routeList registers handlers and remembers their patterns.
type routeList struct{ s *Server }

func (l routeList) HandleFunc(pattern string, h http.HandlerFunc) { l.Handle(pattern, h) }

func (l routeList) Handle(pattern string, h http.Handler) {
	l.s.patterns = append(l.s.patterns, pattern)
	l.s.mux.Handle(pattern, h)
}

// Routes returns every registered pattern, e.g. "GET /clients/{id}", so that
// tests can check that each one is covered.
func (s *Server) Routes() []string { return append([]string(nil), s.patterns...) }
