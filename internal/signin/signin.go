// Package signin is the OpenID Connect side of signing in through a
// provider (Google, Keycloak, Authentik, Okta, Entra ID…): the authorization
// code flow with state, nonce and PKCE, and the verification of the ID token
// the provider returns. It holds no account rules: it says who the provider
// vouches for, and internal/licensing decides what that person may do.
//
// What a flow must remember between sending the browser to the provider and
// its return (state, nonce, PKCE verifier, the callback URL used) travels in
// the browser, sealed (encrypted and authenticated) with a key every server
// sharing the JWT secret derives alike: any replica may finish a flow that
// another began, the database is not written by anyone who merely clicks a
// button, and the flow is bound to the browser that began it, which is what
// defeats a forged callback (login CSRF).
package signin

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Google's issuer, where its endpoints are discovered.
const GoogleIssuer = "https://accounts.google.com"

// FlowTTL bounds the time between leaving for the provider and coming back:
// enough to type a password and a second factor there.
const FlowTTL = 10 * time.Minute

// discoveryTimeout bounds each request to a provider.
const discoveryTimeout = 10 * time.Second

// RetryDiscovery is how long a failed discovery is remembered: sign-ins in
// that time fail at once, so that a provider that is down is not asked
// again for every click on its button (by anyone, signed in or not).
const RetryDiscovery = 5 * time.Second

// ProviderConfig configures one provider.
type ProviderConfig struct {
	// ID names the provider in routes ("google", "oidc").
	ID string
	// Name is what the sign-in button says: "Sign in with <Name>".
	Name string
	// Key is what accounts are linked under: "google" for Google (as the
	// import from KeyBox stores them), the issuer for another provider, so
	// that a subject is only ever compared with subjects of its issuer.
	Key string
	// Issuer is where the provider's configuration is discovered.
	Issuer       string
	ClientID     string
	ClientSecret string
	// CallbackURL, when set, is always the callback URL sent to the
	// provider; otherwise the caller of Begin gives one.
	CallbackURL string
}

// Config configures a Service.
type Config struct {
	Providers []ProviderConfig
	// Secret derives the key that seals flows (the server's JWT secret).
	Secret []byte
	// Client makes the requests to providers (one with a timeout when nil).
	Client *http.Client
	// Now is the clock of flows and ID tokens (time.Now when nil).
	Now func() time.Time
}

// Service runs sign-in flows for the configured providers.
type Service struct {
	providers []*provider
	sealer    sealer
	client    *http.Client
	now       func() time.Time
}

// provider is one configured provider, discovered on first use.
type provider struct {
	cfg ProviderConfig

	mu       sync.Mutex
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
	failed   error     // the last discovery's failure
	failedAt time.Time // when it failed
}

// New returns a Service. It contacts no provider: each is discovered when
// first used (see Discover), so a provider that cannot be reached does not
// keep the server from starting.
func New(cfg Config) (*Service, error) {
	if len(cfg.Secret) < 32 {
		return nil, errors.New("signin: a secret of at least 32 bytes is required")
	}
	s := &Service{sealer: newSealer(cfg.Secret), client: cfg.Client, now: cfg.Now}
	if s.client == nil {
		s.client = &http.Client{Timeout: discoveryTimeout}
	}
	if s.now == nil {
		s.now = time.Now
	}
	seen := map[string]bool{}
	for _, p := range cfg.Providers {
		switch {
		case p.ID == "" || seen[p.ID]:
			return nil, fmt.Errorf("signin: provider id %q is empty or repeated", p.ID)
		case p.Name == "" || p.Key == "" || p.ClientID == "":
			return nil, fmt.Errorf("signin: provider %s needs a name, a key and a client id", p.ID)
		}
		if u, err := url.Parse(p.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("signin: provider %s: issuer %q is not an http(s) URL", p.ID, p.Issuer)
		}
		seen[p.ID] = true
		s.providers = append(s.providers, &provider{cfg: p})
	}
	return s, nil
}

// Info describes a configured provider.
type Info struct {
	ID, Name string
	// FixedCallback reports a provider whose callback URL is configured.
	FixedCallback bool
}

// Providers lists the configured providers, in their configured order.
func (s *Service) Providers() []Info {
	if s == nil {
		return nil
	}
	out := make([]Info, 0, len(s.providers))
	for _, p := range s.providers {
		out = append(out, Info{ID: p.cfg.ID, Name: p.cfg.Name, FixedCallback: p.cfg.CallbackURL != ""})
	}
	return out
}

func (s *Service) provider(id string) (*provider, error) {
	if s != nil {
		for _, p := range s.providers {
			if p.cfg.ID == id {
				return p, nil
			}
		}
	}
	return nil, &Error{Reason: NotConfigured, Err: fmt.Errorf("no provider %q is configured", id)}
}

// Discover fetches the configuration of every provider not yet discovered,
// and reports the ones that failed (they are tried again when next used).
// The server calls it in the background at start, to warm up and to tell
// the operator early about an issuer that cannot be reached.
func (s *Service) Discover(ctx context.Context) error {
	if s == nil {
		return nil
	}
	var errs []error
	for _, p := range s.providers {
		if _, _, err := s.discovered(ctx, p); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p.cfg.ID, err))
		}
	}
	return errors.Join(errs...)
}

// discovered returns the provider's OAuth configuration and ID token
// verifier, discovering them first if needed. A failure is remembered for
// RetryDiscovery only: then the next sign-in tries again, so a provider that
// comes back works without a restart.
func (s *Service) discovered(ctx context.Context, p *provider) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.oauth != nil {
		return p.oauth, p.verifier, nil
	}
	if p.failed != nil && s.now().Before(p.failedAt.Add(RetryDiscovery)) {
		return nil, nil, p.failed
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, s.client), discoveryTimeout)
	defer cancel()
	op, err := oidc.NewProvider(ctx, p.cfg.Issuer)
	if err != nil {
		p.failed, p.failedAt = &Error{Reason: Unavailable, Err: fmt.Errorf("discover %s: %w", p.cfg.Issuer, err)}, s.now()
		return nil, nil, p.failed
	}
	p.failed = nil
	p.oauth = &oauth2.Config{
		ClientID:     p.cfg.ClientID,
		ClientSecret: p.cfg.ClientSecret,
		Endpoint:     op.Endpoint(),
		Scopes:       []string{oidc.ScopeOpenID, "email", "profile"},
	}
	// The key set fetches the provider's keys with our client, outside any
	// one request's lifetime.
	p.verifier = op.VerifierContext(oidc.ClientContext(context.Background(), s.client),
		&oidc.Config{ClientID: p.cfg.ClientID, Now: s.now})
	return p.oauth, p.verifier, nil
}

// Start is where Begin sends the browser, and what it must carry back.
type Start struct {
	// AuthURL is the provider's authorization URL for this flow.
	AuthURL string
	// Flow is the sealed state of the flow, for a cookie that lives FlowTTL.
	Flow string
}

// Begin starts a flow with the provider id: callbackURL is where the
// provider is to send the browser back (ignored for a provider whose
// callback URL is configured).
func (s *Service) Begin(ctx context.Context, id, callbackURL string) (Start, error) {
	p, err := s.provider(id)
	if err != nil {
		return Start{}, err
	}
	oc, _, err := s.discovered(ctx, p)
	if err != nil {
		return Start{}, err
	}
	if p.cfg.CallbackURL != "" {
		callbackURL = p.cfg.CallbackURL
	}
	f := flow{
		Provider: id, State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier(),
		Callback: callbackURL, Expires: s.now().Add(FlowTTL).Unix(),
	}
	sealed, err := s.sealer.seal(f)
	if err != nil {
		return Start{}, err
	}
	cfg := *oc
	cfg.RedirectURL = callbackURL
	authURL := cfg.AuthCodeURL(f.State, oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier))
	return Start{AuthURL: authURL, Flow: sealed}, nil
}

// Identity is who the provider vouched for, from a verified ID token.
type Identity struct {
	// Provider is the configured provider's Key.
	Provider      string
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
}

// Finish completes a flow from the provider's redirect: query is the
// callback's query and sealed the flow Begin returned (from the cookie). It
// checks that the redirect belongs to the flow this browser began, redeems
// the code with the PKCE verifier, and verifies the ID token: signature,
// issuer, audience (and authorized party), expiry and nonce.
func (s *Service) Finish(ctx context.Context, id string, query url.Values, sealed string) (Identity, error) {
	p, err := s.provider(id)
	if err != nil {
		return Identity{}, err
	}
	if e := query.Get("error"); e != "" {
		reason := Refused
		if e == "access_denied" {
			reason = Cancelled
		}
		return Identity{}, &Error{Reason: reason, Err: fmt.Errorf("the provider answered error=%q: %q", clip(e), clip(query.Get("error_description")))}
	}
	if sealed == "" {
		return Identity{}, &Error{Reason: Expired, Err: errors.New("no flow cookie: the flow began too long ago, in another browser, or not at all")}
	}
	f, err := s.sealer.open(sealed)
	if err != nil {
		return Identity{}, &Error{Reason: State, Err: err}
	}
	if s.now().Unix() > f.Expires {
		return Identity{}, &Error{Reason: Expired, Err: errors.New("the flow cookie has expired")}
	}
	if f.Provider != id {
		return Identity{}, &Error{Reason: State, Err: fmt.Errorf("the flow was begun with provider %q", f.Provider)}
	}
	if subtle.ConstantTimeCompare([]byte(query.Get("state")), []byte(f.State)) != 1 {
		return Identity{}, &Error{Reason: State, Err: errors.New("the state parameter does not match the flow's")}
	}
	code := query.Get("code")
	if code == "" {
		return Identity{}, &Error{Reason: Refused, Err: errors.New("the provider sent no code")}
	}
	oc, verifier, err := s.discovered(ctx, p)
	if err != nil {
		return Identity{}, err
	}
	cfg := *oc
	cfg.RedirectURL = f.Callback
	tctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, s.client), discoveryTimeout)
	defer cancel()
	tok, err := cfg.Exchange(tctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			return Identity{}, &Error{Reason: Refused, Err: fmt.Errorf("redeem the code: %w", err)}
		}
		return Identity{}, &Error{Reason: Unavailable, Err: fmt.Errorf("redeem the code: %w", err)}
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, &Error{Reason: Token, Err: errors.New("the token answer has no id_token")}
	}
	idt, err := verifier.Verify(tctx, raw)
	if err != nil {
		return Identity{}, &Error{Reason: Token, Err: err}
	}
	return identity(p.cfg, idt, f.Nonce)
}

// identity checks what go-oidc leaves to its caller (nonce, authorized
// party, a subject) and reads the claims KeyBox uses.
func identity(cfg ProviderConfig, idt *oidc.IDToken, nonce string) (Identity, error) {
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return Identity{}, &Error{Reason: Token, Err: errors.New("the ID token's nonce is not the flow's")}
	}
	var c struct {
		Email             string `json:"email"`
		EmailVerified     any    `json:"email_verified"`
		Name              string `json:"name"`
		GivenName         string `json:"given_name"`
		FamilyName        string `json:"family_name"`
		PreferredUsername string `json:"preferred_username"`
		AuthorizedParty   string `json:"azp"`
	}
	if err := idt.Claims(&c); err != nil {
		return Identity{}, &Error{Reason: Token, Err: fmt.Errorf("read the ID token's claims: %w", err)}
	}
	// A token meant for several parties must name us as the one it was
	// issued to.
	if (len(idt.Audience) > 1 || c.AuthorizedParty != "") && c.AuthorizedParty != cfg.ClientID {
		return Identity{}, &Error{Reason: Token, Err: fmt.Errorf("the ID token was issued to %q, not to this client", clip(c.AuthorizedParty))}
	}
	if idt.Subject == "" {
		return Identity{}, &Error{Reason: Token, Err: errors.New("the ID token has no subject")}
	}
	name := strings.TrimSpace(c.Name)
	if name == "" {
		name = strings.TrimSpace(c.GivenName + " " + c.FamilyName)
	}
	if name == "" {
		name = c.PreferredUsername
	}
	// Some providers send the flag as a string.
	verified := c.EmailVerified == true || c.EmailVerified == "true"
	return Identity{Provider: cfg.Key, Subject: idt.Subject, Email: c.Email, EmailVerified: verified, Name: name}, nil
}

// clip shortens text from a provider before it reaches a log line.
func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
