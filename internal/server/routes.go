package server

import (
	"net/http"

	"github.com/keyboxhq/keybox/internal/licensing"
	"github.com/keyboxhq/keybox/internal/web"
)

// Tags group the operations of the OpenAPI document, in this order.
const (
	tagOperations = "Operations"
	tagAccounts   = "Accounts"
	tagClients    = "Clients"
	tagProjects   = "Projects"
	tagLicenses   = "Licenses"
	tagDashboard  = "Dashboard"
	tagEvents     = "Events and webhooks"
	tagLicenseAPI = "License API"
)

// routes is the whole API in one table. Adding an endpoint is one entry
// here, a handler (decode → one licensing call → answer), and its rule in
// internal/licensing; routing, authentication, error answers, metrics, the
// OpenAPI document and the tests that walk every route follow from the entry.
//
// Each entry's errors are those of its own rules; the document adds the
// answers every route of its kind gives: 400 "Invalid JSON body" and 413 for
// a body, 400 "Validation error" for text that is not text, 401 without a
// valid token, 503 when the database is busy (unless the entry is
// stateless), 500.
func (s *Server) routes() []route {
	// Validating and activating a key are also served under the paths of
	// KeyBox's older SDKs, and renewing under the method of its newer
	// servers (aliases, in the table below).
	validate := route{pattern: "POST /validate", id: "validateLicense", tag: tagLicenseAPI, access: AccessPublic,
		summary: "Validate a key on this machine (applications call it every few minutes)",
		about: "Every refusal of the key is a 200 with valid false, a status and a message. " +
			"With entitlements, a license that lacks any of those codes is not valid (entitlements_missing, with them in missing). " +
			"With a nonce, the answer is signed (KeyBox-Signature) so that an application holding the public keys rejects a forged or replayed one.",
		handler: writes[licensing.Check, verdict](s.handleValidate), required: keyRequired,
		envelope: validFalse, signed: true,
		errors: []failure{badRequest("License key is required", "Machine ID is required", "Invalid nonce: use 8 to 256 printable characters"),
			invalidFields, rateLimited}}
	activate := route{pattern: "POST /validate/activate", id: "activateLicense", tag: tagLicenseAPI, access: AccessPublic,
		summary: "Activate a key on this machine, taking a seat",
		about: "A machine that already holds a seat gets 200 again (idempotent); a PENDING license becomes ACTIVE and its clock starts. " +
			"With a nonce, the answer is signed (KeyBox-Signature).",
		handler: writes[licensing.Check, activateAnswer](s.handleActivate), required: keyRequired, records: true,
		envelope: successFalse, signed: true,
		errors: []failure{
			badRequest("License key is required", "Machine ID is required", "Invalid nonce: use 8 to 256 printable characters"),
			forbidden("License has been revoked", "License has expired", "License key is not valid for this product",
				"License already activated on another machine", "License already activated on another instance"),
			notFound("License not found"), rateLimited,
		}}

	renew := route{pattern: "POST /license/renew/{key}", id: "renewLicense", tag: tagLicenses, access: AccessWrite,
		summary: "Add months to a license",
		about: "Its expiry moves from the later of now and its current expiry, and an EXPIRED license is ACTIVE again; a license never activated gets the months added to its duration. " +
			"Without duration, the license's own duration is added.",
		handler: reply(s.renewLicense),
		errors:  []failure{badRequest("Invalid duration"), notFound("License not found")}}

	googleStart, googleBack := s.signInRoutes("google", "Google", "Google")
	oidcStart, oidcBack := s.signInRoutes("oidc", "OIDC", "the configured OpenID Connect provider")

	return []route{
		// Health and operations.
		{pattern: "GET /{$}", stateless: true, id: "getServerStatus", tag: tagOperations, access: AccessPublic,
			summary: "The server is running",
			about:   "A browser asking for HTML is redirected (302) to the dashboard at /app/ instead.",
			handler: writes[none, serverStatus](s.handleRoot)},
		{pattern: "GET /healthz", stateless: true, id: "checkHealth", tag: tagOperations, access: AccessPublic,
			summary: "The process is up, and which build it runs",
			handler: reply(s.healthz)},
		{pattern: "GET /readyz", stateless: true, id: "checkReadiness", tag: tagOperations, access: AccessPublic,
			summary: "The database answers and its schema is current",
			handler: writes[none, health](s.handleReadyz),
			errors:  []failure{{http.StatusServiceUnavailable, shapeUnavailable, []string{"Database unavailable"}}}},
		{pattern: "GET /metrics", stateless: true, id: "getMetrics", tag: tagOperations, access: AccessPublic,
			summary: "Prometheus metrics: requests and latency per route, validations by result, database pool, build, Go runtime and process",
			about:   "A server that serves its metrics on a listener of its own (KEYBOX_METRICS_ADDR) answers 404 here.",
			handler: writes[none, metricsText](s.handleMetrics),
			errors:  []failure{notFound("Not found")}},
		{pattern: "GET /openapi.json", stateless: true, id: "getOpenAPIDocument", tag: tagOperations, access: AccessPublic,
			summary: "This document",
			handler: writes[none, openAPIDocument](s.handleOpenAPI)},

		// Accounts.
		{pattern: "POST /auth/signup", id: "signup", tag: tagAccounts, access: AccessPublic, status: http.StatusCreated,
			summary: "Create an account",
			about:   "The first account of an installation is its ADMIN; the others are DEVELOPERs.",
			handler: reply(s.signup), required: []string{"name", "email", "password", "confirm_password"}, records: true,
			errors: []failure{
				badRequest("All fields are required", "Passwords do not match", "Password must be at least 8 characters long",
					"Please enter a valid email address", "Name must be a non-empty string of at most 200 characters", "Email already registered"),
				forbidden("Signup is disabled"), rateLimited,
			}},
		{pattern: "POST /auth/login", id: "login", tag: tagAccounts, access: AccessPublic,
			summary: "Log in: a login token",
			about:   "Repeated failures for one email or from one address are refused for a while (429).",
			handler: reply(s.login), required: []string{"email", "password"},
			errors: []failure{badRequest("Email and password are required"), unauthorized("Invalid credentials"), rateLimited}},
		{pattern: "GET /auth/me", id: "getCurrentUser", tag: tagAccounts, access: AccessRead,
			summary: "The caller's account, and whether it has a password",
			handler: reply(s.me)},
		{pattern: "GET /auth/signup", id: "getSignupStatus", tag: tagAccounts, access: AccessPublic,
			summary: "Whether signup is open and whether any account exists, for the dashboard's first page",
			about:   "A fresh installation (no account yet) opens the dashboard on sign-up; its first account is the ADMIN.",
			handler: reply(s.signupStatus)},
		{pattern: "GET /auth/users", id: "listUsers", tag: tagAccounts, access: AccessAccount,
			summary: "Every account (ADMIN only)",
			handler: reply(s.users),
			errors:  []failure{forbidden("Forbidden")}},
		{pattern: "PATCH /auth/users/{id}", id: "updateUser", tag: tagAccounts, access: AccessAccount,
			summary: "Change an account: one's own, or any for an ADMIN",
			about:   "Only an ADMIN changes roles, and the last ADMIN keeps its role. Another account answers 404 to a non-ADMIN.",
			handler: reply(s.updateUser),
			errors: []failure{
				badRequest("Name must be a non-empty string of at most 200 characters", "Please enter a valid email address",
					"Invalid role", "Email already registered"),
				forbidden("Forbidden"), notFound("User not found"), conflict("An installation needs at least one ADMIN"),
			}},
		{pattern: "PATCH /auth/password", id: "changePassword", tag: tagAccounts, access: AccessAccount,
			summary: "Change the caller's password",
			about: "currentPassword is required once the account has a password; an account made through a sign-in provider sets its first without one. " +
				"Every earlier login token of the account ends, and every API token is revoked; the answer carries a fresh login token, so that the caller carries on.",
			handler: reply(s.changePassword), required: []string{"password", "confirm_password"},
			errors: []failure{badRequest("All fields are required", "Passwords do not match",
				"Password must be at least 8 characters long", "Current password is incorrect"), rateLimited}},
		{pattern: "DELETE /auth/users/{id}", id: "deleteUser", tag: tagAccounts, access: AccessAccount,
			summary: "Delete an account (ADMIN only); with cascade=true, its clients, projects, licenses and seats too",
			about: "The last ADMIN is never deleted. An account that owns clients stays unless cascade is true, which deletes them in one transaction. " +
				"The account's login tokens end with it.",
			handler: reply(s.deleteUser), query: []param{cascadeParam},
			errors: []failure{forbidden("Forbidden"), notFound("User not found"),
				conflict("An installation needs at least one ADMIN", "User has clients; delete them first or pass ?cascade=true")}},
		{pattern: "POST /auth/refresh", id: "refreshToken", tag: tagAccounts, access: AccessAccount,
			summary: "A fresh login token for the holder of a valid one",
			about:   "An active session goes on; an idle one ends when its token expires.",
			handler: reply(s.refresh)},
		{pattern: "POST /auth/logout-all", id: "logoutEverywhere", tag: tagAccounts, access: AccessAccount,
			summary: "End every login token of the caller, on every server, the one sent included",
			about:   "Every API token of the account is revoked as well.",
			handler: reply(s.logoutAll)},

		// API tokens: credentials for scripts and integrations, made and
		// revoked by a person who logged in (no API token manages tokens).
		{pattern: "POST /tokens", id: "createApiToken", tag: tagAccounts, access: AccessAccount, status: http.StatusCreated,
			summary: "Make an API token for a script or an integration; its secret is in this answer only",
			about: "The token acts as the caller within its scope, until it expires or is revoked: read allows the calls marked read, " +
				"write those and the ones marked write; no API token reaches account, user or token administration (403 Token scope does not allow this). " +
				"Only a hash of the secret is stored. A password change or logging out everywhere revokes every API token of the account. " +
				"Each wrong member is named in one Validation error.",
			handler: reply(s.createAPIToken), required: []string{"name", "scope"},
			errors: []failure{invalidFields, rateLimited}},
		{pattern: "GET /tokens", id: "listApiTokens", tag: tagAccounts, access: AccessAccount,
			summary: "The caller's API tokens, newest first, expired ones included; never their secrets",
			about:   "lastUsedAt shows when each was last used (to the minute), so that a token nobody recognises can be seen and revoked.",
			handler: reply(s.listAPITokens)},
		{pattern: "DELETE /tokens/{id}", id: "revokeApiToken", tag: tagAccounts, access: AccessAccount,
			summary: "Revoke one of the caller's API tokens: every server refuses it from its next request",
			handler: reply(s.revokeAPIToken),
			errors:  []failure{notFound("Token not found")}},

		// Signing in through a provider: the browser's round trip, then a
		// one-time code that the dashboard exchanges for a login token.
		{pattern: "GET /auth/providers", id: "listSignInProviders", tag: tagAccounts, access: AccessPublic,
			summary: "The sign-in providers configured, for the login page's buttons (none when empty)",
			handler: reply(s.providers)},
		googleStart, googleBack, oidcStart, oidcBack,
		{pattern: "POST /auth/exchange", id: "exchangeSignInCode", tag: tagAccounts, access: AccessPublic,
			summary: "A login token for the one-time code of a sign-in through a provider",
			about:   "The code is valid for 60 seconds, once. The answer is a successful login's.",
			handler: reply(s.exchange), required: []string{"code"},
			errors: []failure{badRequest("Code is required"), unauthorized("Invalid or expired sign-in code")}},

		// Clients: a developer's customers.
		{pattern: "POST /clients", id: "createClient", tag: tagClients, access: AccessWrite, status: http.StatusCreated,
			summary: "Record a client",
			handler: reply(s.createClient), required: []string{"name", "email"},
			errors: []failure{badRequest("Client name required", "Client email required"), invalidFields,
				conflictOn("Client with this email already exists")}},
		{pattern: "GET /clients", id: "listClients", tag: tagClients, access: AccessRead,
			summary: "The caller's clients, newest first",
			handler: reply(s.listClients), query: listParams("name or email"),
			errors: []failure{badRequest(licensing.ErrInvalidPaging.Message)}},
		{pattern: "GET /clients/{id}", id: "getClient", tag: tagClients, access: AccessRead,
			summary: "One client",
			handler: reply(s.getClient),
			errors:  []failure{notFound("Client not found")}},
		{pattern: "PATCH /clients/{id}", id: "updateClient", tag: tagClients, access: AccessWrite,
			summary: "Change a client's name or email",
			handler: reply(s.updateClient),
			errors: []failure{badRequest("Client name required", "Client email required"), invalidFields,
				notFound("Client not found"), conflictOn("Client with this email already exists")}},
		{pattern: "DELETE /clients/{id}", id: "deleteClient", tag: tagClients, access: AccessWrite,
			summary: "Delete a client; with cascade=true, its projects, licenses and seats too",
			handler: reply(s.deleteClient), query: []param{cascadeParam},
			errors: []failure{notFound("Client not found"),
				conflict("Client has projects; delete them first or pass ?cascade=true")}},

		// Projects: the products a client bought.
		{pattern: "POST /projects/createProject", id: "createProjectWithLicense", tag: tagProjects, access: AccessWrite, status: http.StatusCreated,
			summary: "A project and its first license, in one transaction",
			about:   "With policy, the project's policy; the first license is issued under it.",
			handler: reply(s.createProjectWithLicense), required: []string{"clientId", "projectName", "services"},
			errors: []failure{badRequest("Client ID & Project name required", "Invalid duration", "At least one service is required"),
				invalidFields, notFound("Client not found")}},
		{pattern: "POST /projects", id: "createProject", tag: tagProjects, access: AccessWrite, status: http.StatusCreated,
			summary: "A project without a license",
			handler: reply(s.createProject), required: []string{"clientId", "name"},
			errors: []failure{badRequest("Client ID & Project name required"), invalidFields, notFound("Client not found")}},
		{pattern: "GET /projects", id: "listProjects", tag: tagProjects, access: AccessRead,
			summary: "The caller's projects, newest first",
			handler: reply(s.listProjects),
			query:   append([]param{{"clientId", "string", "Only this client's projects."}}, listParams("name")...),
			errors:  []failure{badRequest(licensing.ErrInvalidPaging.Message)}},
		{pattern: "GET /projects/{id}", id: "getProject", tag: tagProjects, access: AccessRead,
			summary: "One project",
			handler: reply(s.getProject),
			errors:  []failure{notFound("Project not found")}},
		{pattern: "PATCH /projects/{id}", id: "renameProject", tag: tagProjects, access: AccessWrite,
			summary: "Rename a project",
			handler: reply(s.renameProject), required: []string{"name"},
			errors: []failure{badRequest("Project name required"), invalidFields, notFound("Project not found")}},
		{pattern: "DELETE /projects/{id}", id: "deleteProject", tag: tagProjects, access: AccessWrite,
			summary: "Delete a project; with cascade=true, its licenses and seats too",
			handler: reply(s.deleteProject), query: []param{cascadeParam},
			errors: []failure{notFound("Project not found"),
				conflict("Project has licenses; delete them first or pass ?cascade=true")}},
		{pattern: "GET /projects/{id}/policy", id: "getProjectPolicy", tag: tagProjects, access: AccessRead,
			summary: "A project's policy: the defaults its new licenses copy",
			handler: reply(s.getPolicy),
			errors:  []failure{notFound("Project not found")}},
		{pattern: "PATCH /projects/{id}/policy", id: "updateProjectPolicy", tag: tagProjects, access: AccessWrite,
			summary: "Change a project's policy: only the members sent",
			about:   "Licenses issued before keep their own settings. Each wrong member is named in one Validation error, and nothing changes.",
			handler: reply(s.patchPolicy),
			errors:  []failure{invalidFields, notFound("Project not found")}},

		// Licenses: keys issued for a project.
		{pattern: "POST /license/create", id: "createLicense", tag: tagLicenses, access: AccessWrite, status: http.StatusCreated,
			summary: "Issue a PENDING license for a project",
			about: "The project's policy, overridden by the members sent. " +
				"The key is generated unless one is imported in key; its clock starts at the first activation.",
			handler: reply(s.createLicense), required: []string{"clientId", "projectId"},
			errors: []failure{
				badRequest("Invalid duration", "Client & Project required", "At least one service is required",
					"Invalid maxMachines: use an integer from 1 to 1000",
					"Invalid license key: use 4 to 128 printable characters without spaces",
					"Invalid productName: use a string of at most 200 characters"),
				invalidFields, notFound("Client not found", "Project not found"), conflictOn("License key already exists"), rateLimited,
			}},
		{pattern: "GET /license", id: "listLicenses", tag: tagLicenses, access: AccessRead,
			summary: "The caller's licenses, newest first or sorted, with their status and seats in use now",
			handler: reply(s.listLicenses),
			query: append([]param{
				{"clientId", "string", "Only this client's licenses."},
				{"projectId", "string", "Only this project's licenses."},
				{"status", "string", "Only the licenses in this status now: PENDING, ACTIVE, EXPIRED or REVOKED."},
				{"sort", "string", "createdAt, expiresAt or status (the status now, alphabetically); ties newest first. " +
					"By expiry, licenses never activated come last. Without it, newest first."},
				{"order", "string", "asc or desc; by default desc for createdAt and asc for the others."},
			}, listParams("key")...),
			errors: []failure{badRequest(licensing.ErrInvalidPaging.Message, "Invalid status: use PENDING, ACTIVE, EXPIRED or REVOKED",
				"Invalid sort: use createdAt, expiresAt or status", "Invalid order: use asc or desc")}},
		{pattern: "GET /license/me", id: "getMyLicenseCount", tag: tagLicenses, access: AccessRead,
			summary: "The caller's account and the number of its licenses",
			handler: reply(s.myLicenses)},
		{pattern: "GET /license/user/{id}", id: "getUserLicenseCount", tag: tagLicenses, access: AccessRead,
			summary: "An account and the number of its licenses: one's own, or any for an ADMIN",
			handler: reply(s.userLicenseCount),
			errors:  []failure{notFound("User not found")}},
		{pattern: "GET /license/{key}", id: "getLicense", tag: tagLicenses, access: AccessRead,
			summary: "One license, with its status now and its seats",
			handler: reply(s.getLicense),
			errors:  []failure{notFound("License not found")}},
		{pattern: "PATCH /license/revoke/{key}", id: "toggleLicenseRevocation", tag: tagLicenses, access: AccessWrite,
			summary: "Revoke a license, or restore a revoked one",
			about:   "A restored license is ACTIVE again, or PENDING if it was never activated. An expired license is renewed instead.",
			handler: reply(s.toggleRevoke),
			errors: []failure{notFound("License not found"),
				conflict("Expired license cannot be toggled; renew it instead")}},
		renew,
		renew.alias("PATCH /license/renew/{key}", "renewLicensePatch", "Add months to a license: the method of KeyBox's newer servers, the same as POST"),
		{pattern: "PATCH /license/{key}", id: "updateLicense", tag: tagLicenses, access: AccessWrite,
			summary: "Change a license's duration (before activation), seats, services, product, machine id requirement, lease, entitlements or metadata",
			about:   "Members not sent stay as they are; each one sent overrides, for this license, what its project's policy gave it.",
			handler: reply(s.updateLicense),
			errors: []failure{
				badRequest("Invalid duration", "Invalid maxMachines: use an integer from 1 to 1000", "At least one service is required",
					"Invalid productName: use a string of at most 200 characters"),
				invalidFields, notFound("License not found"),
				conflictOn("maxMachines is below the seats in use; free a seat first", "License has been activated; renew it to change its duration"),
			}},
		{pattern: "DELETE /license/{key}/activations/{activationId}", id: "removeActivation", tag: tagLicenses, access: AccessWrite,
			summary: "Free a seat (a customer's lost laptop)",
			handler: reply(s.removeActivation),
			errors:  []failure{notFound("License not found", "Activation not found")}},

		// The license API, called by shipped applications: no login token,
		// the key is the credential.
		validate,
		validate.alias("POST /license/{$}", "validateLicenseAlias", "Validate a key: the path of KeyBox's older SDKs, the same as POST /validate"),
		activate,
		activate.alias("POST /license/activate", "activateLicenseAlias", "Activate a key: the path of KeyBox's older SDKs, the same as POST /validate/activate"),
		{pattern: "POST /validate/deactivate", id: "deactivateLicense", tag: tagLicenseAPI, access: AccessPublic,
			summary: "Release this machine's seat; the license stays active",
			handler: writes[licensing.Check, publicConfirmation](s.handleDeactivate), required: keyRequired, records: true,
			envelope: successFalse,
			errors: []failure{badRequest("License key is required", "Machine ID is required"),
				notFound("License not found", "License is not activated on this machine"), rateLimited}},
		{pattern: "POST /validate/heartbeat", id: "sendHeartbeat", tag: tagLicenseAPI, access: AccessPublic,
			summary: "Renew this machine's lease on a floating seat",
			about:   "The body is validate's. A seat of a license with a lease stays taken while its machine sends these (or validates) more often than the lease; one that lapsed must be activated again.",
			handler: writes[licensing.Check, heartbeatAnswer](s.handleHeartbeat), required: keyRequired,
			envelope: successFalse,
			errors: []failure{badRequest("License key is required", "Machine ID is required"),
				forbidden("License has been revoked", "License has expired", "License key is not valid for this product"),
				notFound("License not found", "License is not activated on this machine"), rateLimited}},
		{pattern: "POST /validate/checkout", id: "checkoutLicense", tag: tagLicenseAPI, access: AccessPublic,
			summary: "A signed license file for a machine holding a seat, to run offline",
			handler: writes[licensing.CheckoutInput, checkoutAnswer](s.handleCheckout), required: []string{"key", "machineId"},
			envelope: successFalse,
			errors: []failure{
				badRequest("License key is required", "Machine ID is required", "Invalid ttl: use whole seconds from 60 to 31536000"),
				forbidden("License has been revoked", "License has expired", "License key is not valid for this product"),
				notFound("License not found", "License is not activated on this machine"), rateLimited,
			}},
		{pattern: "GET /validate/public-keys", id: "listPublicKeys", tag: tagLicenseAPI, access: AccessPublic,
			summary: "The keys that verify license files and signed answers (cacheable)",
			handler: writes[none, publicKeys](s.handlePublicKeys)},

		// Dashboard.
		{pattern: "GET /dashboard", id: "getDashboard", tag: tagDashboard, access: AccessRead,
			summary: "The caller's clients, their projects and licenses, as a tree",
			about:   "clientId may also come as a JSON body {\"clientId\"}, as KeyBox's dashboard sends it.",
			handler: writes[none, dashboardAnswer](s.handleDashboard),
			query:   []param{{"clientId", "string", "Only this client's tree."}},
			errors:  []failure{badRequest("Invalid JSON body"), notFound("Client not found")}},
		{pattern: "GET /dashboard/stats", id: "getDashboardStats", tag: tagDashboard, access: AccessRead,
			summary: "Licenses by status, those expiring within 30 days, and validations per day for 30 days",
			handler: reply(s.stats)},

		// The event log and webhooks.
		{pattern: "GET /events", id: "listEvents", tag: tagEvents, access: AccessRead,
			summary: "The caller's events, newest first",
			about: "Every change of state is an event, recorded in the transaction that made it. " +
				"An ADMIN also sees the installation's own events (signing keys, deleted accounts).",
			handler: reply(s.listEvents),
			query: []param{
				{"type", "string", "Only events of this type (license.revoked) or family (license.*)."},
				{"subject", "string", "Only events about the object with this id."},
				{"since", "string", "Only events at or after this RFC 3339 time."},
				{"page", "integer", "The page, from 1."},
				{"limit", "integer", "Events per page, 1 to 100 (20 when absent)."},
			},
			errors: []failure{badRequest(licensing.ErrInvalidPaging.Message), invalidFields}},
		{pattern: "POST /webhooks", id: "createWebhook", tag: tagEvents, access: AccessWrite, status: http.StatusCreated,
			summary: "Add a webhook: an endpoint that receives the caller's events",
			about: "Each delivery is signed as Standard Webhooks says (webhook-id, webhook-timestamp, webhook-signature) with the secret, " +
				"which this answer shows once. Deliveries are retried for 3 days; an endpoint failing for 3 days is turned off.",
			handler: reply(s.createWebhook), required: []string{"url", "events"},
			errors: []failure{invalidFields, conflict("An account may have at most 20 webhooks")}},
		{pattern: "GET /webhooks", id: "listWebhooks", tag: tagEvents, access: AccessRead,
			summary: "The caller's webhooks, oldest first",
			handler: reply(s.listWebhooks)},
		{pattern: "GET /webhooks/{id}", id: "getWebhook", tag: tagEvents, access: AccessRead,
			summary: "One webhook",
			handler: reply(s.getWebhook),
			errors:  []failure{notFound("Webhook not found")}},
		{pattern: "PATCH /webhooks/{id}", id: "updateWebhook", tag: tagEvents, access: AccessWrite,
			summary: "Change a webhook, or turn it off or on",
			handler: reply(s.updateWebhook),
			errors:  []failure{invalidFields, notFound("Webhook not found")}},
		{pattern: "DELETE /webhooks/{id}", id: "deleteWebhook", tag: tagEvents, access: AccessWrite,
			summary: "Delete a webhook and its deliveries",
			handler: reply(s.deleteWebhook),
			errors:  []failure{notFound("Webhook not found")}},
		{pattern: "GET /webhooks/{id}/deliveries", id: "listWebhookDeliveries", tag: tagEvents, access: AccessRead,
			summary: "A webhook's deliveries, newest first, each with its attempts",
			handler: reply(s.listDeliveries),
			query: []param{
				{"page", "integer", "The page, from 1."},
				{"limit", "integer", "Deliveries per page, 1 to 100 (20 when absent)."},
			},
			errors: []failure{badRequest(licensing.ErrInvalidPaging.Message), notFound("Webhook not found")}},
		{pattern: "POST /webhooks/{id}/test", id: "testWebhook", tag: tagEvents, access: AccessWrite, status: http.StatusAccepted,
			summary: "Queue a test message (type webhook.test) to a webhook, on or off",
			handler: reply(s.testWebhook),
			errors:  []failure{notFound("Webhook not found")}},
		{pattern: "POST /webhooks/{id}/deliveries/{deliveryId}/retry", id: "retryWebhookDelivery", tag: tagEvents, access: AccessWrite,
			status:  http.StatusAccepted,
			summary: "Attempt a delivery again, now: one given up, or one waiting for its next retry",
			about: "One server's delivery worker attempts it once, as soon as it can; its outcome then follows the usual rules " +
				"(a failure is retried on the schedule while the delivery is under 3 days old and its webhook is on). " +
				"Allowed to a disabled webhook, like a test message.",
			handler: reply(s.retryDelivery),
			errors: []failure{notFound("Webhook not found", "Delivery not found"),
				conflict("Delivery already succeeded; there is nothing to retry", "Delivery is being attempted now")}},

		// The web dashboard: one page and its assets; browsers asking for /
		// are sent there (handleRoot).
		{pattern: "GET /app/", page: true, handler: serves(dashboardHeaders(web.Handler()))},
		{pattern: "GET /app", page: true, handler: serves(http.RedirectHandler(web.Path, http.StatusMovedPermanently))},
	}
}

// Parts that several entries share.
var (
	keyRequired  = []string{"key"}
	cascadeParam = param{"cascade", "boolean", "true deletes what it holds as well, in one transaction."}
)

// signInRoutes are the two routes of signing in through provider id (name
// in summaries, goName in operationIds): the start, which sends the browser
// to the provider, and the callback, where the provider sends it back. Both
// answer 302, a failure included: the browser always lands somewhere.
func (s *Server) signInRoutes(id, goName, name string) (start, callback route) {
	start = route{pattern: "GET /auth/" + id, id: "signInWith" + goName, tag: tagAccounts, access: AccessPublic,
		status:  http.StatusFound,
		summary: "Sign in with " + name + ": the browser goes to the provider",
		about: "The authorization code flow with state, nonce and PKCE; its state is kept in a short-lived, sealed, HttpOnly cookie. " +
			"When the provider is not configured or cannot be reached, the browser goes to the dashboard's login page with #/login?error=<reason>.",
		handler: writes[none, browserRedirect](s.signInStart(id))}
	callback = route{pattern: "GET /auth/" + id + "/callback", id: "finish" + goName + "SignIn", tag: tagAccounts, access: AccessPublic,
		status:  http.StatusFound,
		summary: "Where " + name + " sends the browser back: to the dashboard, signed in or with a reason",
		about: "Verifies the ID token (signature, issuer, audience, expiry, nonce), then finds, links or creates the account, and sends the browser to the dashboard " +
			"with a one-time code in the URL's fragment (#/signin?code=…), never a token. Any failure sends it to #/login?error=<reason> " +
			"(cancelled, refused, expired, state, token, unavailable, not_configured, signup_closed, email_in_use, email_missing, failed).",
		handler: writes[none, browserRedirect](s.signInCallback(id)), records: true,
		query: []param{
			{"code", "string", "The provider's authorization code."},
			{"state", "string", "The flow's state, as the provider returns it."},
			{"error", "string", "The provider's refusal, instead of a code."},
		}}
	return start, callback
}

// alias is the route under another pattern, which other KeyBox clients call.
func (rt route) alias(pattern, id, summary string) route {
	rt.pattern, rt.id, rt.summary = pattern, id, summary
	return rt
}
