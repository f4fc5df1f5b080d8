package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/client"
	"github.com/keyboxhq/keybox/internal/servertest"
)

// apiError returns err's *APIError, failing the test when there is none.
func apiError(t *testing.T, err error) *client.APIError {
	t.Helper()
	var e *client.APIError
	if !errors.As(err, &e) {
		t.Fatalf("got error %v (%T), want an *APIError", err, err)
	}
	return e
}

func wantAPIError(t *testing.T, err error, status int, message string) *client.APIError {
	t.Helper()
	e := apiError(t, err)
	if e.Status != status || e.Message != message {
		t.Fatalf("got %d %q, want %d %q", e.Status, e.Message, status, message)
	}
	return e
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// TestManagementEndToEnd drives every endpoint of the management API
// through the client, against the real server, and checks that none was
// left out.
func TestManagementEndToEnd(t *testing.T) {
	eachEngine(t, func(t *testing.T, kb *kbServer) {
		ctx := context.Background()
		ada := kb.developer(t, "ada@example.com")
		bob := kb.developer(t, "bob@example.com")

		// Accounts.
		me := must[keybox.User](t)(ada.Me(ctx))
		if me.Email != "ada@example.com" || me.Role != keybox.RoleAdmin {
			t.Fatalf("got me %+v, want ada, ADMIN (first account)", me)
		}
		users := must[[]keybox.User](t)(ada.Users(ctx))
		if len(users) != 2 {
			t.Fatalf("got %d users, want 2", len(users))
		}
		_, err := bob.Users(ctx)
		wantAPIError(t, err, 403, "Forbidden")
		bobUser := must[keybox.User](t)(bob.Me(ctx))
		name := "Robert"
		updated := must[keybox.User](t)(ada.UpdateUser(ctx, bobUser.ID, client.UserUpdate{Name: &name}))
		if updated.Name != "Robert" {
			t.Fatalf("got name %q, want Robert", updated.Name)
		}
		before := bob.Token()
		if err := bob.ChangePassword(ctx, "correct horse", "battery staple"); err != nil {
			t.Fatal(err)
		}
		// The change ended the old token; the client goes on with the fresh one.
		if bob.Token() == before {
			t.Fatal("the client kept the token the password change ended")
		}
		must[keybox.User](t)(bob.Me(ctx))
		if fresh := must[string](t)(bob.Refresh(ctx)); fresh == "" || bob.Token() != fresh {
			t.Fatalf("refresh: got %q, client sends %q", fresh, bob.Token())
		}
		must[keybox.User](t)(bob.Me(ctx))
		err = bob.ChangePassword(ctx, "wrong password", "battery staple")
		wantAPIError(t, err, 400, "Current password is incorrect")
		if _, err := bob.Login(ctx, "bob@example.com", "battery staple"); err != nil {
			t.Fatalf("login with the new password: %v", err)
		}

		// Clients, with the validation and conflict details carried in APIError's fields.
		acme := must[keybox.Client](t)(ada.CreateClient(ctx, client.ClientInput{Name: "Acme", Email: " Billing@Acme.example "}))
		if acme.Email != "billing@acme.example" || acme.OwnerID != me.ID {
			t.Fatalf("got client %+v", acme)
		}
		_, err = ada.CreateClient(ctx, client.ClientInput{Name: "Acme again", Email: "billing@acme.example"})
		if e := wantAPIError(t, err, 409, "Client with this email already exists"); e.Field != "email" {
			t.Fatalf("got field %q, want email", e.Field)
		}
		_, err = ada.CreateClient(ctx, client.ClientInput{Name: "X", Email: "not an address"})
		if e := wantAPIError(t, err, 400, "Validation error"); e.Errors["email"] == "" || e.Details == "" {
			t.Fatalf("got errors %v, details %q: want the email's reason", e.Errors, e.Details)
		}
		globex := must[keybox.Client](t)(ada.CreateClient(ctx, client.ClientInput{Name: "Globex", Email: "it@globex.example"}))
		list := must[client.ClientList](t)(ada.Clients(ctx, client.ListOptions{Query: "glob", Limit: 5}))
		if list.Total != 1 || len(list.Clients) != 1 || list.Clients[0].ID != globex.ID || list.Limit != 5 || list.Page != 1 {
			t.Fatalf("got list %+v, want Globex alone, page 1, limit 5", list)
		}
		if got := must[keybox.Client](t)(ada.Client(ctx, acme.ID)); got.Name != "Acme" {
			t.Fatalf("got %+v", got)
		}
		_, err = bob.Client(ctx, acme.ID)
		wantAPIError(t, err, 404, "Client not found")
		renamed := must[keybox.Client](t)(ada.UpdateClient(ctx, acme.ID, client.ClientInput{Name: "Acme Corp"}))
		if renamed.Name != "Acme Corp" || renamed.Email != "billing@acme.example" {
			t.Fatalf("got %+v, want the name changed and the email kept", renamed)
		}

		// API tokens: made with a login, the secret shown once, acting as
		// their owner within their scope until revoked.
		made := must[client.NewToken](t)(ada.CreateToken(ctx, client.TokenInput{Name: "billing", Scope: keybox.ScopeRead,
			ExpiresAt: kb.Clock.Now().Add(24 * time.Hour)}))
		if !strings.HasPrefix(made.Token, keybox.APITokenPrefix) || made.APIToken.Scope != keybox.ScopeRead ||
			!made.APIToken.ExpiresAt.Equal(kb.Clock.Now().Add(24*time.Hour)) || made.APIToken.OwnerID != me.ID {
			t.Fatalf("got token %+v", made)
		}
		script := must[*client.Client](t)(client.New(kb.URL, client.Options{Token: made.Token}))
		if got := must[client.ClientList](t)(script.Clients(ctx, client.ListOptions{})); got.Total != 2 {
			t.Fatalf("the read token lists %d clients, want ada's 2", got.Total)
		}
		_, err = script.CreateClient(ctx, client.ClientInput{Name: "Initech", Email: "it@initech.example"})
		wantAPIError(t, err, 403, "Token scope does not allow this")
		_, err = script.CreateToken(ctx, client.TokenInput{Name: "another", Scope: keybox.ScopeWrite})
		wantAPIError(t, err, 403, "Token scope does not allow this")
		_, err = ada.CreateToken(ctx, client.TokenInput{Name: "ci", Scope: "admin"})
		if e := wantAPIError(t, err, 400, "Validation error"); e.Errors["scope"] == "" {
			t.Fatalf("got errors %v, want scope's reason", e.Errors)
		}
		tokens := must[[]keybox.APIToken](t)(ada.Tokens(ctx))
		if len(tokens) != 1 || tokens[0].ID != made.APIToken.ID || tokens[0].LastUsedAt.IsZero() {
			t.Fatalf("got tokens %+v, want the one made, used", tokens)
		}
		wantAPIError(t, bob.RevokeToken(ctx, made.APIToken.ID), 404, "Token not found")
		if err := ada.RevokeToken(ctx, made.APIToken.ID); err != nil {
			t.Fatal(err)
		}
		_, err = script.Clients(ctx, client.ListOptions{})
		wantAPIError(t, err, 401, "Unauthorized")

		// Projects.
		site, first, err := ada.CreateProjectWithLicense(ctx, client.NewProjectWithLicense{
			ClientID: acme.ID, ProjectName: "Website", Duration: 12, Services: []keybox.Service{keybox.ServiceHosting, keybox.ServiceDomain},
		})
		if err != nil {
			t.Fatal(err)
		}
		if first.Status != keybox.StatusPending || first.ProjectID != site.ID || len(first.Services) != 2 || !strings.HasPrefix(first.Key, "KB-") {
			t.Fatalf("got first license %+v", first)
		}
		_, _, err = ada.CreateProjectWithLicense(ctx, client.NewProjectWithLicense{ClientID: acme.ID, ProjectName: "X", Duration: 13, Services: []keybox.Service{"Hosting"}})
		wantAPIError(t, err, 400, "Invalid duration")
		app := must[keybox.Project](t)(ada.CreateProject(ctx, acme.ID, "App"))
		plist := must[client.ProjectList](t)(ada.Projects(ctx, client.ProjectListOptions{ClientID: acme.ID}))
		if plist.Total != 2 {
			t.Fatalf("got %d projects, want 2", plist.Total)
		}
		if got := must[keybox.Project](t)(ada.Project(ctx, app.ID)); got.Name != "App" || got.ClientID != acme.ID {
			t.Fatalf("got %+v", got)
		}
		if got := must[keybox.Project](t)(ada.RenameProject(ctx, app.ID, "Mobile app")); got.Name != "Mobile app" {
			t.Fatalf("got %+v", got)
		}
		// A project's policy: the defaults its new licenses copy.
		if pol := must[keybox.Policy](t)(ada.ProjectPolicy(ctx, app.ID)); pol.RequireMachineID {
			t.Fatalf("a new project's policy %+v, want requireMachineId false", pol)
		}
		yes, no := true, false
		if pol := must[keybox.Policy](t)(ada.UpdateProjectPolicy(ctx, app.ID, client.PolicyUpdate{RequireMachineID: &yes})); !pol.RequireMachineID {
			t.Fatalf("updated policy %+v, want requireMachineId true", pol)
		}
		_, err = bob.ProjectPolicy(ctx, app.ID)
		wantAPIError(t, err, 404, "Project not found")
		nine, five, lease := 9, 5, 120
		pol := must[keybox.Policy](t)(ada.UpdateProjectPolicy(ctx, app.ID, client.PolicyUpdate{Duration: &nine, MaxMachines: &five,
			LeaseSeconds: &lease, Entitlements: []string{"pro", "export"}}))
		if want := (keybox.Policy{Duration: 9, MaxMachines: 5, LeaseSeconds: 120, RequireMachineID: true, Entitlements: []string{"export", "pro"}}); !reflect.DeepEqual(pol, want) {
			t.Fatalf("updated policy %+v, want %+v", pol, want)
		}
		pol = must[keybox.Policy](t)(ada.UpdateProjectPolicy(ctx, app.ID, client.PolicyUpdate{Entitlements: []string{"pro"}}))
		if pol.Duration != 9 || !slices.Equal(pol.Entitlements, []string{"pro"}) {
			t.Fatalf("entitlements replaced, the rest kept: %+v", pol)
		}
		_, err = ada.UpdateProjectPolicy(ctx, app.ID, client.PolicyUpdate{LeaseSeconds: &five})
		if e := wantAPIError(t, err, 400, "Validation error"); e.Errors["leaseSeconds"] == "" {
			t.Fatalf("a 5-second lease: %v", e.Errors)
		}

		// Licenses.
		lic := must[keybox.License](t)(ada.CreateLicense(ctx, client.NewLicense{Duration: 6, ClientID: acme.ID, ProjectID: app.ID, MaxMachines: 2, ProductName: "mobile"}))
		if lic.MaxMachines != 2 || lic.ProductName != "mobile" || lic.Services[0] != keybox.ServiceHosting || !lic.RequireMachineID ||
			lic.LeaseSeconds != 120 || !lic.Has("pro") || lic.Duration != 6 {
			t.Fatalf("got %+v, want the policy's lease and entitlements", lic)
		}
		_, err = ada.CreateLicense(ctx, client.NewLicense{Duration: 6, ClientID: acme.ID, ProjectID: app.ID, Key: lic.Key})
		if e := wantAPIError(t, err, 409, "License key already exists"); e.Field != "key" {
			t.Fatalf("got field %q, want key", e.Field)
		}
		llist := must[client.LicenseList](t)(ada.Licenses(ctx, client.LicenseListOptions{ProjectID: app.ID, Status: keybox.StatusPending}))
		if llist.Total != 1 || llist.Licenses[0].Key != lic.Key {
			t.Fatalf("got %+v", llist)
		}
		tg := must[client.Toggle](t)(ada.ToggleRevoke(ctx, lic.Key))
		if tg.Status != keybox.StatusRevoked || tg.Message != "License status changed to REVOKED" || tg.Key != lic.Key {
			t.Fatalf("got %+v", tg)
		}
		if tg := must[client.Toggle](t)(ada.ToggleRevoke(ctx, lic.Key)); tg.Status != keybox.StatusPending {
			t.Fatalf("restored a never-activated license to %s, want PENDING", tg.Status)
		}
		renewed := must[keybox.License](t)(ada.RenewLicense(ctx, lic.Key, 3))
		if renewed.Duration != 9 {
			t.Fatalf("got duration %d after renewing a PENDING license by 3, want 9", renewed.Duration)
		}
		seats := 3
		zero := 0
		patched := must[keybox.License](t)(ada.UpdateLicense(ctx, lic.Key, client.LicenseUpdate{
			MaxMachines: &seats, Services: []keybox.Service{keybox.ServiceDomain}, RequireMachineID: &no,
			LeaseSeconds: &zero, Entitlements: []string{}, Metadata: json.RawMessage(`{"tier":"gold"}`)}))
		if patched.MaxMachines != 3 || !slices.Equal(patched.Services, []keybox.Service{keybox.ServiceDomain}) || patched.RequireMachineID ||
			patched.LeaseSeconds != 0 || len(patched.Entitlements) != 0 || string(patched.Metadata) != `{"tier":"gold"}` {
			t.Fatalf("got %+v", patched)
		}
		lc, err := client.NewLicenseClient(kb.URL, lic.Key, client.LicenseOptions{MachineID: "laptop", ProductName: "mobile"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := lc.Activate(ctx); err != nil {
			t.Fatal(err)
		}
		detail := must[client.LicenseDetail](t)(ada.License(ctx, lic.Key))
		if detail.License.Status != keybox.StatusActive || len(detail.Activations) != 1 || detail.Activations[0].MachineID != "laptop" || detail.SeatsInUse != 1 {
			t.Fatalf("got %+v", detail)
		}
		if err := ada.RemoveActivation(ctx, lic.Key, detail.Activations[0].ID); err != nil {
			t.Fatal(err)
		}
		err = ada.RemoveActivation(ctx, lic.Key, detail.Activations[0].ID)
		wantAPIError(t, err, 404, "Activation not found")
		_, err = bob.License(ctx, lic.Key)
		wantAPIError(t, err, 404, "License not found")

		// User views and dashboard.
		mine := must[client.UserLicenses](t)(ada.MyLicenses(ctx))
		if mine.LicenseCount != 2 || mine.User.ID != me.ID {
			t.Fatalf("got %+v, want ada with 2 licenses", mine)
		}
		if got := must[client.UserLicenses](t)(ada.UserLicenses(ctx, bobUser.ID)); got.LicenseCount != 0 {
			t.Fatalf("got %+v", got)
		}
		dash := must[client.Dashboard](t)(ada.Dashboard(ctx, ""))
		if dash.ClientsCount != 2 || dash.ProjectsCount != 2 {
			t.Fatalf("got %d clients, %d projects; want 2, 2", dash.ClientsCount, dash.ProjectsCount)
		}
		one := must[client.Dashboard](t)(ada.Dashboard(ctx, acme.ID))
		if len(one.Data) != 1 || one.Data[0].ID != acme.ID || len(one.Data[0].Projects) != 2 {
			t.Fatalf("got %+v", one)
		}
		st := must[client.Stats](t)(ada.Stats(ctx))
		if st.Counts.Total != 2 || st.Counts.Active != 1 || st.Counts.Pending != 1 || len(st.Validations) != 30 {
			t.Fatalf("got %+v", st.Counts)
		}

		// Deleting: refused while something is held, unless cascade is asked for.
		err = ada.DeleteProject(ctx, app.ID, false)
		wantAPIError(t, err, 409, "Project has licenses; delete them first or pass ?cascade=true")
		if err := ada.DeleteProject(ctx, app.ID, true); err != nil {
			t.Fatal(err)
		}
		_, err = ada.Project(ctx, app.ID)
		wantAPIError(t, err, 404, "Project not found")
		err = ada.DeleteClient(ctx, acme.ID, false)
		wantAPIError(t, err, 409, "Client has projects; delete them first or pass ?cascade=true")
		if err := ada.DeleteClient(ctx, acme.ID, true); err != nil {
			t.Fatal(err)
		}
		if err := ada.DeleteClient(ctx, globex.ID, false); err != nil {
			t.Fatal(err)
		}
		if n := must[client.ClientList](t)(ada.Clients(ctx, client.ListOptions{})).Total; n != 0 {
			t.Fatalf("got %d clients after deleting both, want 0", n)
		}

		// Events and webhooks.
		events := must[client.EventList](t)(ada.Events(ctx, client.EventOptions{Type: "license.*", Limit: 5}))
		if events.Total == 0 || len(events.Events) > 5 || !strings.HasPrefix(events.Events[0].Type, "license.") {
			t.Fatalf("events: %+v", events)
		}
		if _, err := ada.Events(ctx, client.EventOptions{Type: "nothing"}); apiError(t, err).Status != 400 {
			t.Fatalf("a bad filter: %v", err)
		}
		desc := "billing"
		hook, secret, err := ada.CreateWebhook(ctx, client.WebhookInput{URL: "http://127.0.0.1:9/hook", Events: []string{"license.revoked"}, Description: &desc})
		if err != nil || !strings.HasPrefix(secret, "whsec_") || hook.Description != "billing" || !hook.Enabled {
			t.Fatalf("create webhook: %+v %q %v", hook, secret, err)
		}
		_, _, err = ada.CreateWebhook(ctx, client.WebhookInput{URL: "gopher://x", Events: []string{"*"}})
		if e := wantAPIError(t, err, 400, "Validation error"); e.Errors["url"] == "" {
			t.Fatalf("errors %v do not name url", e.Errors)
		}
		off := false
		hook = must[keybox.Webhook](t)(ada.UpdateWebhook(ctx, hook.ID, client.WebhookInput{Enabled: &off}))
		if hook.Enabled || hook.DisabledAt.IsZero() {
			t.Fatalf("turned off: %+v", hook)
		}
		if got := must[keybox.Webhook](t)(ada.Webhook(ctx, hook.ID)); got.ID != hook.ID {
			t.Fatalf("webhook: %+v", got)
		}
		if list := must[[]keybox.Webhook](t)(ada.Webhooks(ctx)); len(list) != 1 {
			t.Fatalf("webhooks: %+v", list)
		}
		if list := must[[]keybox.Webhook](t)(bob.Webhooks(ctx)); len(list) != 0 {
			t.Fatalf("bob sees webhooks: %+v", list)
		}
		_, err = bob.Webhook(ctx, hook.ID)
		wantAPIError(t, err, 404, "Webhook not found")
		queued := must[keybox.Delivery](t)(ada.TestWebhook(ctx, hook.ID))
		deliveries := must[client.DeliveryList](t)(ada.Deliveries(ctx, hook.ID, 1, 10))
		if deliveries.Total != 1 || deliveries.Deliveries[0].ID != queued.ID || deliveries.Deliveries[0].EventType != "webhook.test" {
			t.Fatalf("deliveries: %+v", deliveries)
		}
		if again := must[keybox.Delivery](t)(ada.RetryDelivery(ctx, hook.ID, queued.ID)); again.ID != queued.ID || again.Status != keybox.DeliveryPending {
			t.Fatalf("retried: %+v", again)
		}
		_, err = bob.RetryDelivery(ctx, hook.ID, queued.ID)
		wantAPIError(t, err, 404, "Webhook not found")
		if err := ada.DeleteWebhook(ctx, hook.ID); err != nil {
			t.Fatal(err)
		}

		// Accounts: logging out everywhere, then deleting one.
		elsewhere, err := client.New(kb.URL, client.Options{Token: bob.Token()})
		if err != nil {
			t.Fatal(err)
		}
		err = bob.DeleteUser(ctx, me.ID, false)
		wantAPIError(t, err, 403, "Forbidden")
		if err := bob.LogoutAll(ctx); err != nil {
			t.Fatal(err)
		}
		_, err = elsewhere.Me(ctx)
		wantAPIError(t, err, 401, "Unauthorized")
		err = ada.DeleteUser(ctx, me.ID, false)
		wantAPIError(t, err, 409, "An installation needs at least one ADMIN")
		if err := ada.DeleteUser(ctx, bobUser.ID, true); err != nil {
			t.Fatal(err)
		}
		err = ada.DeleteUser(ctx, bobUser.ID, false)
		wantAPIError(t, err, 404, "User not found")

		if st, err := ada.SignupStatus(ctx); err != nil || st.Signup != "open" || !st.HasAccounts {
			t.Fatalf("signup status: %+v, %v; want open, with accounts", st, err)
		}

		// Sign-in providers: none configured here (TestSignInCode has one).
		if list, err := ada.Providers(ctx); err != nil || len(list) != 0 {
			t.Fatalf("providers: %v, %v; want none", list, err)
		}
		_, err = ada.ExchangeSignInCode(ctx, "made-up")
		wantAPIError(t, err, 401, "Invalid or expired sign-in code")

		// Every route of the management and license APIs has been called through the SDK.
		kb.mu.Lock()
		defer kb.mu.Unlock()
		for _, p := range kb.Handler.Routes() {
			if isOps(p) || p == "POST /validate" || p == "POST /validate/deactivate" || p == "POST /license/{$}" || p == "POST /license/activate" ||
				p == "POST /validate/checkout" || p == "GET /validate/public-keys" || p == "PATCH /license/renew/{key}" ||
				p == "POST /validate/heartbeat" {
				continue // operations, the public API's other forms (TestLicenseClient, TestOffline*, TestGuardHeartbeats), KeyBox's PATCH form of renew
			}
			if !kb.seen[p] {
				t.Errorf("route %q is never called through the client", p)
			}
		}
	})
}

func isOps(pattern string) bool {
	switch pattern {
	case "GET /{$}", "GET /healthz", "GET /readyz", "GET /metrics", "GET /openapi.json",
		"GET /app", "GET /app/", // and the dashboard's pages,
		"GET /auth/google", "GET /auth/google/callback", "GET /auth/oidc", "GET /auth/oidc/callback": // and a browser's sign-in
		return true
	}
	return false
}

func TestAuthErrors(t *testing.T) {
	kb := sqliteServer(t)
	ctx := context.Background()
	anon, err := client.New(kb.URL, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = anon.Me(ctx)
	wantAPIError(t, err, 401, "No token provided")
	if client.StatusOf(err) != 401 {
		t.Fatalf("got StatusOf %d, want 401", client.StatusOf(err))
	}
	bad, _ := client.New(kb.URL, client.Options{Token: "not-a-jwt"})
	_, err = bad.Me(ctx)
	wantAPIError(t, err, 401, "Unauthorized")
	_, err = anon.Signup(ctx, client.Signup{Name: "A", Email: "a@example.com", Password: "short"})
	wantAPIError(t, err, 400, "Password must be at least 8 characters long")
	_, err = anon.Login(ctx, "nobody@example.com", "whatever1")
	wantAPIError(t, err, 401, "Invalid credentials")
	if anon.Token() != "" {
		t.Fatal("a failed login set a token")
	}
	if got := err.Error(); got != "Invalid credentials (HTTP 401)" {
		t.Fatalf("got %q, want %q", got, "Invalid credentials (HTTP 401)")
	}
}

// TestKeysWithSlashes: imported keys may hold characters that are special in
// a path; every call that puts a key in the path escapes it.
func TestKeysWithSlashes(t *testing.T) {
	kb := sqliteServer(t)
	ctx := context.Background()
	c := kb.developer(t, "ada@example.com")
	base := pendingLicense(t, c, 2)
	for _, key := range []string{"ACME/2024/0001", "100%-legit?yes#1", "a..b/../c"} {
		t.Run(key, func(t *testing.T) {
			l := must[keybox.License](t)(c.CreateLicense(ctx, client.NewLicense{Duration: 1, ClientID: base.ClientID, ProjectID: base.ProjectID, Key: key}))
			if got := must[client.LicenseDetail](t)(c.License(ctx, key)); got.License.ID != l.ID {
				t.Fatalf("got license %q, want %q", got.License.Key, key)
			}
			if tg := must[client.Toggle](t)(c.ToggleRevoke(ctx, key)); tg.Key != key || tg.Status != keybox.StatusRevoked {
				t.Fatalf("got %+v", tg)
			}
			if tg := must[client.Toggle](t)(c.ToggleRevoke(ctx, key)); tg.Status != keybox.StatusPending {
				t.Fatalf("got %+v", tg)
			}
			lc, err := client.NewLicenseClient(kb.URL, key, client.LicenseOptions{MachineID: "m1"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := lc.Activate(ctx); err != nil {
				t.Fatal(err)
			}
			d := must[client.LicenseDetail](t)(c.License(ctx, key))
			if err := c.RemoveActivation(ctx, key, d.Activations[0].ID); err != nil {
				t.Fatal(err)
			}
			if _, err := c.RenewLicense(ctx, key, 1); err != nil {
				t.Fatal(err)
			}
			seats := 4
			if got := must[keybox.License](t)(c.UpdateLicense(ctx, key, client.LicenseUpdate{MaxMachines: &seats})); got.MaxMachines != 4 {
				t.Fatalf("got %+v", got)
			}
		})
	}
}

// TestRateLimitError: a 429's sentence is in "errors", and its wait in Retry-After.
func TestRateLimitError(t *testing.T) {
	kb := sqliteServer(t, servertest.Options{RateLimits: true})
	ctx := context.Background()
	lc, err := client.NewLicenseClient(kb.URL, "KB-NOPE", client.LicenseOptions{MachineID: "m"})
	if err != nil {
		t.Fatal(err)
	}
	var last error
	for range 40 {
		if _, last = lc.Activate(ctx); client.StatusOf(last) == http.StatusTooManyRequests {
			break
		}
	}
	e := wantAPIError(t, last, 429, "too many requests, please try again later.")
	if e.RetryAfter <= 0 {
		t.Fatalf("got RetryAfter %v, want a positive wait", e.RetryAfter)
	}
}

func TestNewRejectsBadAddresses(t *testing.T) {
	for _, addr := range []string{"", "localhost:5000", "ftp://x", "http://"} {
		if _, err := client.New(addr, client.Options{}); err == nil {
			t.Errorf("New(%q): got no error, want one", addr)
		}
	}
	c, err := client.New("http://localhost:5000/", client.Options{})
	if err != nil || c.BaseURL() != "http://localhost:5000" {
		t.Fatalf("got %v, %v", c, err)
	}
}

// countingTransport counts the requests sent through it.
type countingTransport struct{ n int }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n++
	return http.DefaultTransport.RoundTrip(r)
}

// TestCallersHTTPClient: both clients send through the caller's *http.Client.
func TestCallersHTTPClient(t *testing.T) {
	kb := sqliteServer(t)
	ctx := context.Background()
	tr := &countingTransport{}
	hc := &http.Client{Transport: tr}
	c, err := client.New(kb.URL, client.Options{HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Signup(ctx, client.Signup{Name: "Ada", Email: "ada@example.com", Password: "correct horse"}); err != nil {
		t.Fatal(err)
	}
	lc, err := client.NewLicenseClient(kb.URL, "KB-NONE", client.LicenseOptions{HTTPClient: hc, MachineID: "m"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lc.Validate(ctx); err != nil {
		t.Fatal(err)
	}
	if tr.n != 2 {
		t.Fatalf("got %d requests through the caller's client, want 2", tr.n)
	}
}
