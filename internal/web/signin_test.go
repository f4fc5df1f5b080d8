package web_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/keyboxhq/keybox/internal/servertest"
	"github.com/keyboxhq/keybox/internal/signin"
	"github.com/keyboxhq/keybox/internal/signin/signintest"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// jwtShape matches a login token (a JWT: three base64url parts, the first
// an encoded JSON object) anywhere in a URL; a random sign-in code may well
// contain "eyJ" on its own.
var jwtShape = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`)

// newSignInEnv is the real server with Google and a generic provider
// configured, both real OpenID Connect providers on loopback that sign with
// the server's clock.
func newSignInEnv(t *testing.T) (*env, *signintest.Provider, *signintest.Provider) {
	t.Helper()
	var clock *servertest.Clock
	now := func() time.Time { return clock.Now() }
	google := signintest.New(t, "google-client", "google-secret", now)
	idp := signintest.New(t, "keybox", "idp-secret", now)
	s := servertest.New(t, storetest.SQLite(t), servertest.Options{StartAt: time.Now(), SignIn: []signin.ProviderConfig{
		{ID: "google", Name: "Google", Key: "google", Issuer: google.URL, ClientID: "google-client", ClientSecret: "google-secret"},
		{ID: "oidc", Name: "Acme SSO", Key: idp.URL, Issuer: idp.URL, ClientID: "keybox", ClientSecret: "idp-secret"},
	}})
	clock = s.Clock
	return &env{t: t, url: s.URL, clock: s.Clock}, google, idp
}

// TestSignInWithProvider: the login page offers a button per provider; a
// click goes to the provider and back, and the dashboard is signed in, with
// no token in any address and the one-time code gone from the address bar.
// A failed sign-in comes back to the login page with a sentence.
func TestSignInWithProvider(t *testing.T) {
	e, _, idp := newSignInEnv(t)
	idp.SignInAs(signintest.User{Subject: "kc-ada", Email: "ada@example.com", EmailVerified: true, Name: "Ada Lovelace"})

	b := newTab(t)
	b.navigate(e.url + "/app/")
	// A fresh installation opens on sign-up, which offers the providers too.
	b.waitText("h1", "Welcome to KeyBox")
	b.waitText(".providers a", "Sign in with Google")
	b.waitText(".providers a", "Sign in with Acme SSO")
	b.shot("login-with-providers")
	b.clickButton(".providers", "Sign in with Acme SSO")
	b.waitThroughNavigations("signed in", `!document.getElementById("account").hidden && document.querySelector("h1")?.textContent === "Overview"`)
	b.waitText("#who", "Ada Lovelace")
	b.shot("signed-in-with-provider")
	if got := eval[string](b, `location.hash`); got != "#/" {
		t.Errorf("after signing in the address ends in %q, want #/ (no code)", got)
	}
	if s := b.storage(); !strings.Contains(s, "token") {
		t.Fatalf("no session kept: %s", s)
	}
	token := eval[string](b, `JSON.parse(localStorage.getItem("keybox.session")).token`)
	sawCode := false
	for _, r := range b.requestsSent() {
		if strings.Contains(r.url, token) || jwtShape.MatchString(r.url) {
			t.Errorf("a token in a URL: %s", r.url)
		}
		if u, err := url.Parse(r.url); err == nil && strings.HasPrefix(u.Fragment, "/signin?code=") {
			sawCode = true
		}
	}
	if !sawCode {
		t.Error("the browser never came back with a one-time code")
	}
	// The session works as a password login's does.
	b.click(`#nav a[data-nav="clients"]`)
	b.waitText("h1", "Clients")

	// Cancelled at the provider: back on the login page, told so.
	b.click("#logout")
	b.waitText("h1", "Log in")
	idp.Cancel()
	b.clickButton(".providers", "Sign in with Acme SSO")
	b.waitThroughNavigations("the reason", `document.querySelector(".notice-error")?.textContent.includes("Sign-in was cancelled.")`)
	if got := eval[string](b, `location.hash`); got != "#/login" {
		t.Errorf("after a failed sign-in the address ends in %q, want #/login", got)
	}
	b.shot("sign-in-cancelled")

	// A used or made-up code, and a reason the page does not know: a
	// sentence of the page's own, never the address's text.
	b.navigate(e.url + "/app/#/signin?code=made-up")
	b.waitText(".notice-error", "This sign-in has expired or was already used.")
	b.navigate(e.url + "/app/#/login?error=" + url.QueryEscape(`<img src=x id=injected>Call +1 555`))
	b.waitText(".notice-error", "Signing in did not work. Please try again.")
	if got := b.text("main"); strings.Contains(got, "555") || eval[bool](b, `document.getElementById("injected") !== null`) {
		t.Errorf("the page shows text from its address: %q", got)
	}
	b.navigate(e.url + "/app/#/login?error=constructor")
	b.waitText(".notice-error", "Signing in did not work. Please try again.")

	// Back to the dashboard signed in, through Google this time: the same
	// person, a second account (Google's subject is another identity).
	b.clickButton(".providers", "Sign in with Google")
	b.waitThroughNavigations("signed in with Google", `document.getElementById("who")?.textContent === "Test User"`)
	b.do("reload", chromedp.Reload())
	b.waitText("#who", "Test User")
}

// waitThroughNavigations waits until the expression is true in the page,
// across the navigations of a sign-in (to the provider and back), during
// which the page's script context comes and goes.
func (b *tab) waitThroughNavigations(what, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr)); err == nil && ok {
			return
		}
		select {
		case <-ctx.Done():
			b.shot("timeout-" + slug(what))
			body, _ := evaluate[string](b, `document.body.innerText`)
			b.t.Fatalf("waiting for %s: %v\npage text:\n%s", what, ctx.Err(), body)
		case <-tick.C:
		}
	}
}

// TestLoginPageWithoutProviders: with no provider configured the login page
// has no sign-in buttons, only the form.
func TestLoginPageWithoutProviders(t *testing.T) {
	e := newEnv(t)
	e.developer("Ada", "ada@example.com")
	b := newTab(t)
	b.navigate(e.url + "/app/")
	b.waitText("h1", "Log in")
	b.waitFor("the providers' list", `() => document.querySelector(".providers")?.dataset.loaded === "true"`)
	if n := eval[int](b, `document.querySelectorAll(".providers a").length`); n != 0 || !eval[bool](b, `document.querySelector(".providers").hidden`) {
		t.Fatalf("%d provider buttons without configuration", n)
	}
}
