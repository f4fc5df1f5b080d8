package server_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/licensing"
	"github.com/keyboxhq/keybox/internal/servertest"
	"github.com/keyboxhq/keybox/internal/signin"
	"github.com/keyboxhq/keybox/internal/signin/signintest"
)

// jwtShape matches a login token (a JWT: three base64url parts, the first
// an encoded JSON object) anywhere in a URL; a random sign-in code may well
// contain "eyJ" on its own.
var jwtShape = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`)

// signInEnv is a real server with two real OpenID Connect providers on
// loopback: one configured as Google, one as the generic provider.
type signInEnv struct {
	*env
	google, idp *signintest.Provider
	mu          sync.Mutex
	logs        bytes.Buffer
}

type signInOption func(*servertest.Options, *signInEnv)

// newSignInEnv starts the providers and the server over store. The
// providers sign with the server's clock, so moving it ages both sides.
func newSignInEnv(t *testing.T, store keybox.Store, opts ...signInOption) *signInEnv {
	t.Helper()
	var clock *servertest.Clock
	now := func() time.Time { return clock.Now() }
	se := &signInEnv{
		google: signintest.New(t, "google-client", "google-secret", now),
		idp:    signintest.New(t, "keybox", "idp-secret", now),
	}
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&se.mu, &se.logs}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	se.env = newEnv(t, store, func(o *servertest.Options) {
		o.Logger = logger
		o.SignIn = []signin.ProviderConfig{
			{ID: "google", Name: "Google", Key: "google", Issuer: se.google.URL, ClientID: "google-client", ClientSecret: "google-secret"},
			{ID: "oidc", Name: "Test IdP", Key: se.idp.URL, Issuer: se.idp.URL, ClientID: "keybox", ClientSecret: "idp-secret"},
		}
		for _, opt := range opts {
			opt(o, se)
		}
	})
	clock = se.clock
	return se
}

func (se *signInEnv) log() string {
	se.mu.Lock()
	defer se.mu.Unlock()
	return se.logs.String()
}

// browser is a client with cookies that follows redirects through the
// provider and stops where the server sends it to the dashboard.
type browser struct {
	t      testing.TB
	client *http.Client
	// hops are the answers on the way, for checks on each.
	hops []*http.Response
}

func newBrowser(t testing.TB) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t}
	b.client = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		b.hops = append(b.hops, req.Response)
		if req.URL.Path == "/app/" {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return b
}

// get sends a GET and stops at the dashboard; it returns the last answer.
func (b *browser) get(u string, header map[string]string) *http.Response {
	b.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), "GET", u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("GET %s: %v", u, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp
}

// landing is where a sign-in ended: the dashboard with a code, or its login
// page with a reason.
type landing struct {
	code, reason string
	location     *url.URL
}

// signIn starts a sign-in at path (/auth/google) and follows it to the
// dashboard. Every answer on the way is a redirect: never an error page.
func (b *browser) signIn(base, path string) landing {
	b.t.Helper()
	b.hops = nil
	resp := b.get(base+path, nil)
	return b.landed(resp)
}

// landed reads the dashboard address a final answer sends the browser to.
func (b *browser) landed(resp *http.Response) landing {
	b.t.Helper()
	for _, h := range append(b.hops, resp) {
		if h != nil && h.StatusCode != http.StatusFound {
			b.t.Fatalf("%s answered %d, want a redirect (302)", h.Request.URL.Path, h.StatusCode)
		}
	}
	loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Path != "/app/" {
		b.t.Fatalf("the sign-in ended at %q, want the dashboard /app/", resp.Header.Get("Location"))
	}
	if jwtShape.MatchString(loc.String()) {
		b.t.Fatalf("a token in a URL: %s", loc)
	}
	view, query, _ := strings.Cut(loc.Fragment, "?")
	q, _ := url.ParseQuery(query)
	l := landing{code: q.Get("code"), reason: q.Get("error"), location: loc}
	switch {
	case view == "/signin" && l.code != "" && l.reason == "":
	case view == "/login" && l.reason != "" && l.code == "":
	default:
		b.t.Fatalf("landed on %q, want #/signin?code= or #/login?error=", loc.Fragment)
	}
	return l
}

// exchange trades a one-time code for a login.
func (se *signInEnv) exchange(code string) response {
	se.t.Helper()
	return se.do("POST", "/auth/exchange", "", map[string]any{"code": code})
}

// signedIn signs in at path as the provider's current user and returns the
// login answer.
func (se *signInEnv) signedIn(path string) response {
	se.t.Helper()
	l := newBrowser(se.t).signIn(se.url, path)
	if l.reason != "" {
		se.t.Fatalf("sign-in at %s failed: %s", path, l.reason)
	}
	return se.exchange(l.code).want(se.t, 200, "Login successful")
}

// refused signs in at path and wants the login page with reason.
func (se *signInEnv) refused(path, reason string) {
	se.t.Helper()
	l := newBrowser(se.t).signIn(se.url, path)
	if l.reason != reason {
		se.t.Fatalf("sign-in at %s: landed with reason %q (code %q), want %q", path, l.reason, l.code, reason)
	}
}

func (se *signInEnv) users() int {
	se.t.Helper()
	n, err := se.store.CountUsers(context.Background())
	if err != nil {
		se.t.Fatal(err)
	}
	return n
}

// TestSignInCreatesFindsAndSeparates: the first sign-in makes an account
// without a password (the installation's first, so its ADMIN); the next one
// finds it by subject, whatever the provider now says about the address or
// the name; the same subject at another provider is another person.
func TestSignInCreatesFindsAndSeparates(t *testing.T) {
	forEngine(t, func(t *testing.T, open func(testing.TB) keybox.Store) {
		se := newSignInEnv(t, open(t))
		if n := se.google.Requests("/.well-known/openid-configuration"); n != 0 {
			t.Fatalf("the server contacted the provider %d times before anyone signed in", n)
		}
		se.google.SignInAs(signintest.User{Subject: "g-1", Email: "Ada@Example.com", EmailVerified: true, Name: "Ada Lovelace"})
		first := se.signedIn("/auth/google")
		if first.str("role") != "ADMIN" {
			t.Fatalf("the installation's first account has role %q, want ADMIN", first.str("role"))
		}
		me := se.do("GET", "/auth/me", first.str("token"), nil).want(t, 200, "").obj("user")
		if me["name"] != "Ada Lovelace" || me["email"] != "ada@example.com" {
			t.Fatalf("the new account: %v", me)
		}
		// No password: password login answers as for a wrong one.
		for _, pw := range []string{"", "x", "correct horse"} {
			se.do("POST", "/auth/login", "", map[string]string{"email": "ada@example.com", "password": pw}).want(t, statusFor(pw), "")
		}
		ids, err := se.store.Identities(context.Background(), first.str("userId"))
		if err != nil || len(ids) != 1 || ids[0].Provider != "google" || ids[0].Subject != "g-1" {
			t.Fatalf("identities: %+v, %v; want google g-1", ids, err)
		}

		se.google.SignInAs(signintest.User{Subject: "g-1", Email: "someone-else@example.com", EmailVerified: true, Name: "Renamed"})
		again := se.signedIn("/auth/google")
		if again.str("userId") != first.str("userId") || se.users() != 1 {
			t.Fatalf("the second sign-in made account %s (%d accounts), want %s", again.str("userId"), se.users(), first.str("userId"))
		}
		if me := se.do("GET", "/auth/me", again.str("token"), nil).want(t, 200, "").obj("user"); me["email"] != "ada@example.com" || me["name"] != "Ada Lovelace" {
			t.Fatalf("a sign-in changed the account: %v", me)
		}

		// The same subject at the generic provider is someone else, and the
		// second account of the installation is a DEVELOPER.
		se.idp.SignInAs(signintest.User{Subject: "g-1", Email: "bob@example.com", EmailVerified: true, Name: ""})
		bob := se.signedIn("/auth/oidc")
		if bob.str("userId") == first.str("userId") || bob.str("role") != "DEVELOPER" {
			t.Fatalf("generic provider's g-1: account %s role %s, want a new DEVELOPER", bob.str("userId"), bob.str("role"))
		}
		if me := se.do("GET", "/auth/me", bob.str("token"), nil).want(t, 200, "").obj("user"); me["name"] != "bob" {
			t.Fatalf("an account from a token without a name is named %q, want the address's local part", me["name"])
		}
		ids, _ = se.store.Identities(context.Background(), bob.str("userId"))
		if len(ids) != 1 || ids[0].Provider != se.idp.URL {
			t.Fatalf("generic provider's link: %+v, want one under the issuer %s", ids, se.idp.URL)
		}
	})
}

func signupInput(name, email, password string) licensing.SignupInput {
	return licensing.SignupInput{Name: licensing.Str(name), Email: licensing.Str(email), Password: licensing.Str(password), ConfirmPassword: licensing.Str(password)}
}

func statusFor(password string) int {
	if password == "" {
		return 400
	}
	return 401
}

// TestSignInLinksOnlyAVerifiedEmail: an account with the provider's address
// is linked only when the provider says it verified the address; until then
// the person is told so, nothing is linked and no session begins.
func TestSignInLinksOnlyAVerifiedEmail(t *testing.T) {
	forEngine(t, func(t *testing.T, open func(testing.TB) keybox.Store) {
		se := newSignInEnv(t, open(t))
		adaID := se.signup("Ada", "ada@example.com")

		se.idp.SignInAs(signintest.User{Subject: "kc-ada", Email: "ADA@example.com", EmailVerified: false, Name: "Mallory"})
		se.refused("/auth/oidc", "email_in_use")
		if ids, _ := se.store.Identities(context.Background(), adaID); len(ids) != 0 || se.users() != 1 {
			t.Fatalf("an unverified address linked %+v or made an account (%d)", ids, se.users())
		}
		if !strings.Contains(se.log(), `"reason":"email_in_use"`) {
			t.Errorf("the log does not say why the sign-in failed:\n%s", se.log())
		}

		se.idp.SignInAs(signintest.User{Subject: "kc-ada", Email: "ada@example.com", EmailVerified: true})
		linked := se.signedIn("/auth/oidc")
		if linked.str("userId") != adaID || linked.str("role") != "ADMIN" {
			t.Fatalf("a verified address signed in as %s (%s), want Ada's account %s", linked.str("userId"), linked.str("role"), adaID)
		}
		// Her password still works, and the link holds without the address.
		se.login("ada@example.com")
		se.idp.SignInAs(signintest.User{Subject: "kc-ada", Email: "", EmailVerified: false})
		if again := se.signedIn("/auth/oidc"); again.str("userId") != adaID {
			t.Fatalf("the linked subject signed in as %s, want %s", again.str("userId"), adaID)
		}

		// A new person gets an account whether or not the provider verified
		// the address (some never say); without an address, none.
		se.idp.SignInAs(signintest.User{Subject: "kc-new", Email: "new@example.com", EmailVerified: false})
		if r := se.signedIn("/auth/oidc"); r.str("userId") == adaID || r.str("role") != "DEVELOPER" {
			t.Fatalf("a new person with an unverified address: %v", r.body)
		}
		for _, email := range []string{"", "not an address"} {
			se.idp.SignInAs(signintest.User{Subject: "kc-none", Email: email, EmailVerified: true})
			se.refused("/auth/oidc", "email_missing")
		}
		if se.users() != 2 {
			t.Fatalf("%d accounts, want Ada's and the new person's", se.users())
		}
	})
}

// TestSignInSignupClosed: with signup closed a new person is refused with a
// reason, while an existing account (made by the operator) may link and
// sign in.
func TestSignInSignupClosed(t *testing.T) {
	forEngine(t, func(t *testing.T, open func(testing.TB) keybox.Store) {
		se := newSignInEnv(t, open(t), func(o *servertest.Options, _ *signInEnv) { o.SignupClosed = true })
		se.google.SignInAs(signintest.User{Subject: "g-new", Email: "new@example.com", EmailVerified: true})
		se.refused("/auth/google", "signup_closed")
		if se.users() != 0 {
			t.Fatalf("signup is closed, yet %d accounts exist", se.users())
		}
		if !strings.Contains(se.log(), `"reason":"signup_closed"`) {
			t.Errorf("the log does not say why:\n%s", se.log())
		}
		op := servertest.Password
		if _, err := se.svc.CreateUser(context.Background(), signupInput("Op", "op@example.com", op), keybox.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		se.google.SignInAs(signintest.User{Subject: "g-op", Email: "op@example.com", EmailVerified: true})
		if r := se.signedIn("/auth/google"); r.str("role") != "ADMIN" {
			t.Fatalf("the operator's account signed in as %v", r.body)
		}
	})
}

// TestSignInFailures: every way a sign-in can fail lands on the login page
// with its reason, the log says why, no account is made and no code given.
func TestSignInFailures(t *testing.T) {
	forEngine(t, func(t *testing.T, open func(testing.TB) keybox.Store) {
		se := newSignInEnv(t, open(t))
		se.google.SignInAs(signintest.User{Subject: "g-1", Email: "ada@example.com", EmailVerified: true, Name: "Ada"})
		tamper := func(k string, v any) func() {
			return func() { se.google.Tamper(func(c map[string]any) { c[k] = v }) }
		}
		cases := []struct {
			name, reason string
			spoil        func()
		}{
			{"the user cancels at the provider", "cancelled", se.google.Cancel},
			{"the token is for another client", "token", tamper("aud", "someone-else")},
			{"the token is for several clients, issued to another", "token", func() {
				se.google.Tamper(func(c map[string]any) { c["aud"] = []string{"google-client", "other"}; c["azp"] = "other" })
			}},
			{"the token is from another issuer", "token", tamper("iss", "https://accounts.google.com")},
			{"the token has another nonce", "token", tamper("nonce", "replayed")},
			{"the token has expired", "token", tamper("exp", servertest.Start.Add(-time.Hour).Unix())},
			{"the token has no subject", "token", tamper("sub", "")},
			{"the token is signed with another key", "token", se.google.SignWithWrongKey},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				c.spoil()
				se.refused("/auth/google", c.reason)
			})
		}

		t.Run("the state does not match", func(t *testing.T) {
			b := newBrowser(t)
			b.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			auth := b.get(se.url+"/auth/google", nil) // to the provider; stop there
			back := b.get(auth.Header.Get("Location"), nil)
			cb, _ := url.Parse(back.Header.Get("Location"))
			q := cb.Query()
			q.Set("state", "forged")
			cb.RawQuery = q.Encode()
			if l := b.landed(b.get(cb.String(), nil)); l.reason != "state" {
				t.Fatalf("a forged state: %+v", l)
			}
		})
		t.Run("the callback reaches another browser", func(t *testing.T) {
			// An attacker's own callback URL, sent to a victim's browser
			// (login CSRF): the victim began no flow.
			b := newBrowser(t)
			b.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			auth := b.get(se.url+"/auth/google", nil)
			back := b.get(auth.Header.Get("Location"), nil)
			victim := newBrowser(t)
			if l := victim.landed(victim.get(back.Header.Get("Location"), nil)); l.reason != "expired" {
				t.Fatalf("a callback in a browser that began no flow: %+v", l)
			}
		})
		t.Run("a flow of one provider comes back to the other", func(t *testing.T) {
			b := newBrowser(t)
			b.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			auth := b.get(se.url+"/auth/google", nil)
			back := b.get(auth.Header.Get("Location"), nil)
			cb, _ := url.Parse(back.Header.Get("Location"))
			cb.Path = "/auth/oidc/callback"
			if l := b.landed(b.get(cb.String(), nil)); l.reason != "state" {
				t.Fatalf("google's flow at the generic callback: %+v", l)
			}
		})
		t.Run("the flow cookie is forged", func(t *testing.T) {
			b := newBrowser(t)
			b.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			auth := b.get(se.url+"/auth/google", nil)
			back := b.get(auth.Header.Get("Location"), nil)
			u, _ := url.Parse(se.url + "/auth/")
			cookies := b.client.Jar.Cookies(u)
			if len(cookies) != 1 {
				t.Fatalf("cookies for /auth/: %v", cookies)
			}
			raw := []byte(cookies[0].Value)
			raw[len(raw)/2] ^= 1
			b.client.Jar.SetCookies(u, []*http.Cookie{{Name: cookies[0].Name, Value: string(raw), Path: "/auth/"}})
			if l := b.landed(b.get(back.Header.Get("Location"), nil)); l.reason != "state" {
				t.Fatalf("a changed flow cookie: %+v", l)
			}
		})
		t.Run("the flow is older than its lifetime", func(t *testing.T) {
			b := newBrowser(t)
			b.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			auth := b.get(se.url+"/auth/google", nil)
			back := b.get(auth.Header.Get("Location"), nil)
			se.clock.Add(signin.FlowTTL + time.Second)
			if l := b.landed(b.get(back.Header.Get("Location"), nil)); l.reason != "expired" {
				t.Fatalf("a flow past its lifetime: %+v", l)
			}
		})
		t.Run("the provider's code has expired", func(t *testing.T) {
			b := newBrowser(t)
			b.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			auth := b.get(se.url+"/auth/google", nil)
			back := b.get(auth.Header.Get("Location"), nil)
			se.clock.Add(signintest.CodeTTL + time.Second)
			if l := b.landed(b.get(back.Header.Get("Location"), nil)); l.reason != "refused" {
				t.Fatalf("an expired provider code: %+v", l)
			}
		})
		t.Run("a code used twice", func(t *testing.T) {
			b := newBrowser(t)
			b.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			auth := b.get(se.url+"/auth/google", nil)
			back := b.get(auth.Header.Get("Location"), nil)
			cb := back.Header.Get("Location")
			if l := b.landed(b.get(cb, nil)); l.code == "" {
				t.Fatalf("first callback: %+v", l)
			}
			// Replayed (the flow cookie is gone, the provider's code used).
			if l := b.landed(b.get(cb, nil)); l.reason != "expired" {
				t.Fatalf("a replayed callback: %+v", l)
			}
		})
		if se.users() != 1 {
			t.Fatalf("%d accounts after the failures, want the one of the code used once", se.users())
		}
		for _, want := range []string{`"reason":"cancelled"`, `"reason":"token"`, `"reason":"state"`, `"reason":"expired"`, `"reason":"refused"`, `expected audience`, `nonce`} {
			if !strings.Contains(se.log(), want) {
				t.Errorf("the log does not hold %s", want)
			}
		}
		if strings.Contains(se.log(), `"level":"ERROR"`) {
			t.Errorf("a refused sign-in logged as an error:\n%s", se.log())
		}
	})
}

// TestSignInProviderUnreachable: a provider that cannot be reached fails its
// sign-ins with a reason, and works as soon as it is back.
func TestSignInProviderUnreachable(t *testing.T) {
	se := newSignInEnv(t, storeSQLite(t))
	se.idp.SetDown(true)
	se.refused("/auth/oidc", "unavailable")
	se.do("GET", "/healthz", "", nil).want(t, 200, "")
	se.do("GET", "/auth/providers", "", nil).want(t, 200, "")
	// A provider that is down is not asked again at every click.
	asked := se.idp.Requests("/.well-known/openid-configuration")
	se.refused("/auth/oidc", "unavailable")
	if n := se.idp.Requests("/.well-known/openid-configuration"); n != asked {
		t.Fatalf("a failed discovery was retried at once (%d requests, then %d)", asked, n)
	}
	se.idp.SetDown(false)
	se.refused("/auth/oidc", "unavailable")
	se.clock.Add(signin.RetryDiscovery)
	se.signedIn("/auth/oidc")

	// Down between leaving for it and coming back: the code cannot be redeemed.
	b := newBrowser(t)
	b.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	auth := b.get(se.url+"/auth/oidc", nil)
	back := b.get(auth.Header.Get("Location"), nil)
	se.idp.SetDown(true)
	if l := b.landed(b.get(back.Header.Get("Location"), nil)); l.reason != "unavailable" {
		t.Fatalf("provider down at the callback: %+v", l)
	}
	if !strings.Contains(se.log(), `"reason":"unavailable"`) {
		t.Errorf("the log does not say the provider was unreachable:\n%s", se.log())
	}
}

// TestSignInNotConfigured: a provider that is not configured is not
// listed, and its routes send the browser back with a reason.
func TestSignInNotConfigured(t *testing.T) {
	e := newEnv(t, storeSQLite(t))
	if list := e.do("GET", "/auth/providers", "", nil).want(t, 200, "").list("providers"); len(list) != 0 {
		t.Fatalf("providers without configuration: %v", list)
	}
	for _, path := range []string{"/auth/google", "/auth/oidc", "/auth/google/callback?code=x&state=y"} {
		if l := newBrowser(t).signIn(e.url, path); l.reason != "not_configured" {
			t.Fatalf("%s: %+v", path, l)
		}
	}
}

// TestSignInCodeOnce: the one-time code gives one login, within its minute,
// on whichever server it is presented to.
func TestSignInCodeOnce(t *testing.T) {
	forEngine(t, func(t *testing.T, open func(testing.TB) keybox.Store) {
		store := open(t)
		se := newSignInEnv(t, store)
		code := func() string {
			l := newBrowser(t).signIn(se.url, "/auth/google")
			if l.code == "" {
				t.Fatalf("no code: %+v", l)
			}
			return l.code
		}
		c := code()
		se.exchange(c).want(t, 200, "Login successful")
		se.exchange(c).want(t, 401, "Invalid or expired sign-in code")

		c = code()
		se.clock.Add(59 * time.Second)
		se.exchange(c).want(t, 200, "Login successful")

		c = code()
		se.clock.Add(61 * time.Second)
		se.exchange(c).want(t, 401, "Invalid or expired sign-in code")
		se.clock.Add(-61 * time.Second)
		se.exchange(c).want(t, 401, "Invalid or expired sign-in code") // an expired code is gone for good

		for _, body := range []any{map[string]any{}, map[string]any{"code": ""}, map[string]any{"code": 42}} {
			se.do("POST", "/auth/exchange", "", body).want(t, 400, "Code is required")
		}
		se.do("POST", "/auth/exchange", "", map[string]any{"code": "guess"}).want(t, 401, "Invalid or expired sign-in code")
		se.do("POST", "/auth/exchange", "", "[").want(t, 400, "Invalid JSON body")

		// A second server on the same database: a flow begun on one is
		// finished on the other, and its code exchanged on the first.
		other := newEnv(t, store, func(o *servertest.Options) {
			o.SignIn = []signin.ProviderConfig{{ID: "google", Name: "Google", Key: "google", Issuer: se.google.URL, ClientID: "google-client", ClientSecret: "google-secret"}}
		})
		other.clock.Set(se.clock.Now())
		b := newBrowser(t)
		b.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		auth := b.get(se.url+"/auth/google", nil)
		back := b.get(auth.Header.Get("Location"), nil)
		cb, _ := url.Parse(back.Header.Get("Location"))
		cb.Host = strings.TrimPrefix(other.url, "http://")
		b.client.Jar.SetCookies(cb, b.client.Jar.Cookies(auth.Request.URL))
		l := b.landed(b.get(cb.String(), nil))
		if l.code == "" {
			t.Fatalf("the other server refused the flow: %+v", l)
		}
		se.exchange(l.code).want(t, 200, "Login successful")
		other.do("POST", "/auth/exchange", "", map[string]any{"code": l.code}).want(t, 401, "Invalid or expired sign-in code")
	})
}

// TestSignInCallbackURL: the callback URL sent to the provider is the
// configured one, else under the public URL, else the request's own, as a
// trusted proxy reports it; the flow cookie follows (HttpOnly, Lax, Secure
// over HTTPS, scoped to the sign-in routes).
func TestSignInCallbackURL(t *testing.T) {
	start := func(t *testing.T, se *signInEnv, path string, header map[string]string) (string, *http.Cookie) {
		t.Helper()
		b := newBrowser(t)
		b.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp := b.get(se.url+path, header)
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		auth, _ := url.Parse(resp.Header.Get("Location"))
		q := auth.Query()
		for _, k := range []string{"state", "nonce", "code_challenge"} {
			if len(q.Get(k)) < 43 {
				t.Errorf("%s is %q, want 256 random bits", k, q.Get(k))
			}
		}
		if q.Get("code_challenge_method") != "S256" || !strings.Contains(q.Get("scope"), "openid") {
			t.Errorf("authorization request %v", q)
		}
		cookies := resp.Cookies()
		if len(cookies) != 1 {
			t.Fatalf("cookies: %v", cookies)
		}
		c := cookies[0]
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.MaxAge != 600 || strings.Contains(c.Value, q.Get("state")) {
			t.Errorf("flow cookie %+v", c)
		}
		return q.Get("redirect_uri"), c
	}
	t.Run("from the request", func(t *testing.T) {
		se := newSignInEnv(t, storeSQLite(t))
		got, c := start(t, se, "/auth/oidc", nil)
		if got != se.url+"/auth/oidc/callback" || c.Secure || c.Path != "/auth/" {
			t.Fatalf("callback %q, cookie %+v", got, c)
		}
		// An untrusted peer's forwarded headers are not believed.
		got, c = start(t, se, "/auth/oidc", map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example.com"})
		if got != se.url+"/auth/oidc/callback" || c.Secure {
			t.Fatalf("callback %q (secure %v), want the request's own", got, c.Secure)
		}
	})
	t.Run("through a trusted proxy", func(t *testing.T) {
		se := newSignInEnv(t, storeSQLite(t), func(o *servertest.Options, _ *signInEnv) {
			o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		})
		got, c := start(t, se, "/auth/google", map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "keybox.example.com"})
		if got != "https://keybox.example.com/auth/google/callback" || !c.Secure {
			t.Fatalf("callback %q, secure %v", got, c.Secure)
		}
		got, _ = start(t, se, "/auth/google", map[string]string{"X-Forwarded-Host": "evil.example.com/phish?x="})
		if got != se.url+"/auth/google/callback" {
			t.Fatalf("a malformed forwarded host made callback %q", got)
		}
	})
	t.Run("under the public URL", func(t *testing.T) {
		se := newSignInEnv(t, storeSQLite(t), func(o *servertest.Options, _ *signInEnv) { o.PublicURL = "https://kb.example.com/keybox/" })
		got, c := start(t, se, "/auth/oidc", nil)
		if got != "https://kb.example.com/keybox/auth/oidc/callback" || !c.Secure || c.Path != "/keybox/auth/" {
			t.Fatalf("callback %q, cookie %+v", got, c)
		}
	})
	t.Run("configured for Google", func(t *testing.T) {
		se := newSignInEnv(t, storeSQLite(t), func(o *servertest.Options, se *signInEnv) {
			o.PublicURL = "https://kb.example.com"
			o.SignIn[0].CallbackURL = "https://login.example.com/auth/google/callback"
		})
		if got, _ := start(t, se, "/auth/google", nil); got != "https://login.example.com/auth/google/callback" {
			t.Fatalf("callback %q", got)
		}
		if got, _ := start(t, se, "/auth/oidc", nil); got != "https://kb.example.com/auth/oidc/callback" {
			t.Fatalf("generic callback %q", got)
		}
	})
	t.Run("back to the dashboard", func(t *testing.T) {
		se := newSignInEnv(t, storeSQLite(t))
		l := newBrowser(t).signIn(se.url, "/auth/google")
		if l.location.String() != se.url+"/app/#/signin?code="+url.QueryEscape(l.code) {
			t.Fatalf("landed at %s", l.location)
		}
	})
}

// TestProviderAccountSetsAPassword: an account made through a provider sets
// its first password without a current one; from then on it needs it.
func TestProviderAccountSetsAPassword(t *testing.T) {
	forEngine(t, func(t *testing.T, open func(testing.TB) keybox.Store) {
		se := newSignInEnv(t, open(t))
		se.google.SignInAs(signintest.User{Subject: "g-1", Email: "ada@example.com", EmailVerified: true, Name: "Ada"})
		token := se.signedIn("/auth/google").str("token")
		stale, err := se.store.UserByEmail(context.Background(), "ada@example.com")
		if err != nil || stale.PasswordHash != "" {
			t.Fatalf("the new account: %+v, %v", stale, err)
		}
		body := map[string]any{"password": "correct horse", "confirm_password": "correct horse"}
		se.do("PATCH", "/auth/password", token, changed(body, map[string]any{"confirm_password": "other horse"})).want(t, 400, "Passwords do not match")
		se.do("PATCH", "/auth/password", token, changed(body, map[string]any{"password": "short", "confirm_password": "short"})).want(t, 400, "Password must be at least 8 characters long")
		fresh := se.do("PATCH", "/auth/password", token, body).want(t, 200, "Password updated successfully").str("token")
		se.do("GET", "/auth/me", token, nil).want(t, 401, "Unauthorized")
		se.do("GET", "/auth/me", fresh, nil).want(t, 200, "")
		se.login("ada@example.com")
		// Now it has one, a change needs it.
		se.do("PATCH", "/auth/password", fresh, body).want(t, 400, "All fields are required")
		se.do("PATCH", "/auth/password", fresh, changed(body, map[string]any{"currentPassword": "wrong horse"})).want(t, 400, "Current password is incorrect")
		// A request authenticated before the first password was set does
		// not set another without it.
		if _, err := se.svc.ChangePassword(context.Background(), stale, licensing.PasswordChange{
			Password: licensing.Str("stolen horse"), ConfirmPassword: licensing.Str("stolen horse"),
		}); err == nil || err.Error() != "invalid: Current password is incorrect" {
			t.Fatalf("a stale password-less caller: got %v, want Current password is incorrect", err)
		}
		// And Google still signs the account in.
		se.signedIn("/auth/google")
	})
}

// TestSignInsAtOnce: sign-ins finishing at the same moment on a fresh
// installation, two people twice each, make two accounts, one of them the
// ADMIN, and each person's two sign-ins land in the same account.
func TestSignInsAtOnce(t *testing.T) {
	forEngine(t, func(t *testing.T, open func(testing.TB) keybox.Store) {
		se := newSignInEnv(t, open(t))
		type pending struct {
			b        *browser
			callback string
			subject  string
		}
		var flows []pending
		for _, sub := range []string{"a", "b", "a", "b"} {
			se.google.SignInAs(signintest.User{Subject: sub, Email: sub + "@example.com", EmailVerified: true})
			b := newBrowser(t)
			b.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			auth := b.get(se.url+"/auth/google", nil)
			back := b.get(auth.Header.Get("Location"), nil)
			flows = append(flows, pending{b, back.Header.Get("Location"), sub})
		}
		codes := make([]string, len(flows))
		var wg sync.WaitGroup
		for i, f := range flows {
			wg.Go(func() {
				resp, err := f.b.client.Get(f.callback)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				loc, _ := resp.Request.URL.Parse(resp.Header.Get("Location"))
				codes[i], _ = strings.CutPrefix(loc.Fragment, "/signin?code=")
			})
		}
		wg.Wait()
		accounts, admins := map[string]string{}, 0
		for i, c := range codes {
			code, _ := url.QueryUnescape(c)
			r := se.exchange(code).want(t, 200, "Login successful")
			if prev, ok := accounts[flows[i].subject]; ok && prev != r.str("userId") {
				t.Fatalf("subject %s signed in to %s and %s", flows[i].subject, prev, r.str("userId"))
			}
			if _, ok := accounts[flows[i].subject]; !ok && r.str("role") == "ADMIN" {
				admins++
			}
			accounts[flows[i].subject] = r.str("userId")
		}
		if se.users() != 2 || admins != 1 {
			t.Fatalf("%d accounts, %d ADMINs; want 2 and 1", se.users(), admins)
		}
	})
}
