package server

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/licensing"
	"github.com/keyboxhq/keybox/internal/signin"
)

// Signing in through a provider: /auth/{google,oidc} sends the browser to
// the provider, /auth/{google,oidc}/callback brings it back to the dashboard
// with a one-time code in the URL's fragment (never sent to any server, so
// never in a log), which the dashboard exchanges with POST /auth/exchange
// for a login token. A failure brings it back to the login page with a
// short reason code, which the page turns into a sentence of its own.

// flowCookie holds the sealed state of a flow while the browser is at the provider.
const flowCookie = "keybox_signin"

// Reasons a sign-in is refused by the account rules, as the login page
// knows them (the protocol's own are signin's), and the catch-all.
const (
	reasonSignupClosed = "signup_closed"
	reasonEmailInUse   = "email_in_use"
	reasonEmailMissing = "email_missing"
	reasonFailed       = "failed"
)

// browserRedirect is the answer of a route that sends the browser on: 302
// with Location, and no body.
type browserRedirect struct{}

// signInStart sends the browser to provider id to sign in.
func (s *Server) signInStart(id string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, _ keybox.User) error {
		start, err := s.signin.Begin(r.Context(), id, s.callbackURL(r, id))
		if err != nil {
			s.signInFailed(w, r, id, err)
			return nil
		}
		http.SetCookie(w, s.flow(r, start.Flow, int(signin.FlowTTL.Seconds())))
		redirect(w, start.AuthURL)
		return nil
	}
}

// signInCallback finishes a flow with provider id. Every outcome is a
// redirect, to the dashboard signed in or to its login page with a reason.
func (s *Server) signInCallback(id string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, _ keybox.User) error {
		var sealed string
		if c, err := r.Cookie(flowCookie); err == nil {
			sealed = c.Value
		}
		// A flow is finished once, whatever its outcome.
		http.SetCookie(w, s.flow(r, "", -1))
		who, err := s.signin.Finish(r.Context(), id, r.URL.Query(), sealed)
		var code string
		if err == nil {
			code, err = s.svc.SignInWithProvider(r.Context(), licensing.ProviderAccount{
				Provider: who.Provider, Subject: who.Subject, Email: who.Email, EmailVerified: who.EmailVerified, Name: who.Name,
			})
		}
		if err != nil {
			s.signInFailed(w, r, id, err)
			return nil
		}
		redirect(w, s.dashboardURL(r, "#/signin?code="+url.QueryEscape(code)))
		return nil
	}
}

// signInFailed logs why a sign-in failed and sends the browser to the
// login page with the reason's code; never an error page, never a session.
func (s *Server) signInFailed(w http.ResponseWriter, r *http.Request, id string, err error) {
	reason := signin.ReasonOf(err)
	level := slog.LevelWarn
	switch {
	case reason != "":
	case errors.Is(err, licensing.ErrSignupDisabled):
		reason = reasonSignupClosed
	case errors.Is(err, licensing.ErrEmailNotVerified):
		reason = reasonEmailInUse
	case errors.Is(err, licensing.ErrNoEmail):
		reason = reasonEmailMissing
	default:
		reason, level = reasonFailed, slog.LevelError
	}
	attrs := []slog.Attr{slog.String("requestId", requestID(w)), slog.String("provider", id), slog.String("reason", reason)}
	attrs = append(s.addressed(r, attrs), slog.Any("error", err))
	s.log.LogAttrs(r.Context(), level, "sign-in failed", attrs...)
	redirect(w, s.dashboardURL(r, "#/login?error="+reason))
}

// signInCode is the body of POST /auth/exchange.
type signInCode struct {
	Code licensing.Text `json:"code" doc:"The one-time code from the URL's fragment (#/signin?code=…)."`
}

// exchange trades a one-time sign-in code for a login token; the answer is
// a successful login's.
func (s *Server) exchange(r *http.Request, _ keybox.User, in signInCode) (loginAnswer, error) {
	sess, err := s.svc.ExchangeSignInCode(r.Context(), in.Code)
	return loginAnswer{Message: "Login successful", Token: sess.Token, UserID: sess.User.ID, Role: sess.User.Role}, err
}

// signInProviders lists the configured providers.
type signInProviders struct {
	Providers []signInProvider `json:"providers"`
}

// signInProvider is a button of the login page.
type signInProvider struct {
	ID   providerID `json:"id"`
	Name string     `json:"name" doc:"The button's label: Sign in with <name>."`
	URL  string     `json:"url" doc:"Where the button sends the browser: /auth/<id>."`
}

// providerID names a sign-in provider in its routes.
type providerID string

// providers lists the configured providers for the login page.
func (s *Server) providers(*http.Request, keybox.User, none) (signInProviders, error) {
	list := []signInProvider{}
	for _, p := range s.signin.Providers() {
		list = append(list, signInProvider{ID: providerID(p.ID), Name: p.Name, URL: "/auth/" + p.ID})
	}
	return signInProviders{Providers: list}, nil
}

// callbackURL is where provider id sends the browser back: under the
// configured public URL, else at this request's own scheme and host (as a
// trusted proxy reports them), so that a plain local install works as it is.
// A provider with a configured callback URL ignores it.
func (s *Server) callbackURL(r *http.Request, id string) string {
	if s.publicURL != "" {
		return s.publicURL + "/auth/" + id + "/callback"
	}
	return s.scheme(r) + "://" + s.host(r) + "/auth/" + id + "/callback"
}

// dashboardURL is the dashboard's address with fragment: absolute under the
// public URL, else relative to the request, so that it stays right behind a
// proxy that serves KeyBox under a path prefix.
func (s *Server) dashboardURL(r *http.Request, fragment string) string {
	if s.publicURL != "" {
		return s.publicURL + "/app/" + fragment
	}
	return strings.Repeat("../", max(0, strings.Count(r.URL.Path, "/")-1)) + "app/" + fragment
}

// scheme is https when the request came over TLS, or a trusted proxy says so.
func (s *Server) scheme(r *http.Request) string {
	if s.publicURL != "" {
		if strings.HasPrefix(s.publicURL, "https://") {
			return "https"
		}
		return "http"
	}
	if r.TLS != nil {
		return "https"
	}
	if s.fromTrustedProxy(r) {
		if p := firstValue(r.Header.Get("X-Forwarded-Proto")); p == "https" || p == "http" {
			return p
		}
	}
	return "http"
}

// host is the request's host, or the one a trusted proxy forwarded.
func (s *Server) host(r *http.Request) string {
	if s.fromTrustedProxy(r) {
		if h := firstValue(r.Header.Get("X-Forwarded-Host")); validHost(h) {
			return h
		}
	}
	return r.Host
}

func (s *Server) fromTrustedProxy(r *http.Request) bool {
	if len(s.trusted) == 0 {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return s.isTrusted(host)
}

// firstValue is the first of a comma-separated header's values (the one the
// proxy nearest the client wrote).
func firstValue(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.ToLower(strings.TrimSpace(first))
}

// validHost accepts a host[:port] and nothing that could change the URL
// around it (a path, a user, a fragment).
func validHost(h string) bool {
	if h == "" {
		return false
	}
	u, err := url.Parse("http://" + h)
	return err == nil && u.Host == h && u.User == nil && u.Path == "" && u.RawQuery == "" && u.Fragment == ""
}

// flow is the flow cookie: only for the sign-in routes, never readable by
// scripts, sent when the provider sends the browser back (a top-level
// navigation, which SameSite=Lax allows), and over HTTPS only when the
// server is reached over HTTPS.
func (s *Server) flow(r *http.Request, value string, maxAge int) *http.Cookie {
	path := "/auth/"
	if s.publicURL != "" {
		if u, err := url.Parse(s.publicURL); err == nil {
			path = u.Path + "/auth/"
		}
	}
	return &http.Cookie{Name: flowCookie, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, Secure: s.scheme(r) == "https", SameSite: http.SameSiteLaxMode}
}

// redirect answers 302 with location as it is: a relative location stays
// relative, for the browser to resolve.
func redirect(w http.ResponseWriter, location string) {
	h := w.Header()
	h.Set("Location", location)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusFound)
}
