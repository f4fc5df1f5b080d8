package main

import (
	"flag"
	"fmt"
	"net/url"
	"strings"

	"github.com/keyboxhq/keybox/internal/signin"
)

// signInRaw are the settings of signing in through providers, as text.
// Client secrets are read from the environment only, never from flags,
// which any user of the machine can read in the process list.
type signInRaw struct {
	publicURL                                            string
	googleClientID, googleClientSecret, googleCallback   string
	oidcIssuer, oidcClientID, oidcClientSecret, oidcName string
}

func readSignIn(env func(key, def string) string) signInRaw {
	return signInRaw{
		publicURL:          env("KEYBOX_PUBLIC_URL", ""),
		googleClientID:     env("GOOGLE_CLIENT_ID", ""),
		googleClientSecret: env("GOOGLE_CLIENT_SECRET", ""),
		googleCallback:     env("GOOGLE_CALLBACK_URL", ""),
		oidcIssuer:         env("KEYBOX_OIDC_ISSUER", ""),
		oidcClientID:       env("KEYBOX_OIDC_CLIENT_ID", ""),
		oidcClientSecret:   env("KEYBOX_OIDC_CLIENT_SECRET", ""),
		oidcName:           env("KEYBOX_OIDC_NAME", ""),
	}
}

func (raw *signInRaw) flags(fs *flag.FlagSet) {
	fs.StringVar(&raw.publicURL, "public-url", raw.publicURL, "the server's address as browsers reach it, e.g. https://keybox.example.com (KEYBOX_PUBLIC_URL)")
	fs.StringVar(&raw.googleClientID, "google-client-id", raw.googleClientID, "Google OAuth client id; enables Sign in with Google (GOOGLE_CLIENT_ID; the secret: GOOGLE_CLIENT_SECRET)")
	fs.StringVar(&raw.googleCallback, "google-callback-url", raw.googleCallback, "callback URL registered with Google (GOOGLE_CALLBACK_URL)")
	fs.StringVar(&raw.oidcIssuer, "oidc-issuer", raw.oidcIssuer, "OpenID Connect issuer URL; enables sign-in with it (KEYBOX_OIDC_ISSUER)")
	fs.StringVar(&raw.oidcClientID, "oidc-client-id", raw.oidcClientID, "OpenID Connect client id (KEYBOX_OIDC_CLIENT_ID; the secret: KEYBOX_OIDC_CLIENT_SECRET)")
	fs.StringVar(&raw.oidcName, "oidc-name", raw.oidcName, "the sign-in button's label: Sign in with <name> (KEYBOX_OIDC_NAME)")
}

// signInConfig is the checked configuration.
type signInConfig struct {
	publicURL string
	providers []signin.ProviderConfig
}

// check validates the settings, reporting each problem through bad.
func (raw signInRaw) check(bad func(format string, args ...any)) signInConfig {
	var c signInConfig
	if raw.publicURL != "" {
		if err := checkURL(raw.publicURL, true); err != nil {
			bad("KEYBOX_PUBLIC_URL: %v", err)
		}
		c.publicURL = strings.TrimRight(raw.publicURL, "/")
	}

	google := raw.googleClientID != "" || raw.googleClientSecret != "" || raw.googleCallback != ""
	switch {
	case !google:
	case raw.googleClientID == "":
		bad("GOOGLE_CLIENT_ID: required with GOOGLE_CLIENT_SECRET or GOOGLE_CALLBACK_URL")
	case raw.googleClientSecret == "":
		bad("GOOGLE_CLIENT_SECRET: required with GOOGLE_CLIENT_ID")
	default:
		if raw.googleCallback != "" {
			if err := checkURL(raw.googleCallback, false); err != nil {
				bad("GOOGLE_CALLBACK_URL: %v", err)
			}
		}
		c.providers = append(c.providers, signin.ProviderConfig{
			ID: "google", Name: "Google", Key: "google", Issuer: signin.GoogleIssuer,
			ClientID: raw.googleClientID, ClientSecret: raw.googleClientSecret, CallbackURL: raw.googleCallback,
		})
	}

	oidc := raw.oidcIssuer != "" || raw.oidcClientID != "" || raw.oidcClientSecret != "" || raw.oidcName != ""
	switch {
	case !oidc:
	case raw.oidcIssuer == "":
		bad("KEYBOX_OIDC_ISSUER: required with the other KEYBOX_OIDC_ settings")
	case raw.oidcClientID == "":
		bad("KEYBOX_OIDC_CLIENT_ID: required with KEYBOX_OIDC_ISSUER")
	default:
		if err := checkURL(raw.oidcIssuer, true); err != nil {
			bad("KEYBOX_OIDC_ISSUER: %v", err)
			break
		}
		name := raw.oidcName
		if name == "" {
			u, _ := url.Parse(raw.oidcIssuer)
			name = u.Hostname()
		}
		// The issuer, exactly as the provider states it in its tokens, is
		// what accounts are linked under.
		c.providers = append(c.providers, signin.ProviderConfig{
			ID: "oidc", Name: name, Key: raw.oidcIssuer, Issuer: raw.oidcIssuer,
			ClientID: raw.oidcClientID, ClientSecret: raw.oidcClientSecret,
		})
	}
	return c
}

// checkURL accepts an absolute http(s) URL without query or fragment; a
// base URL may have a path prefix.
func checkURL(s string, base bool) error {
	u, err := url.Parse(s)
	switch {
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return fmt.Errorf("%q must have no query, fragment or user", s)
	case !base && (u.Path == "" || u.Path == "/"):
		return fmt.Errorf("%q has no path; it is the full callback URL, e.g. https://keybox.example.com/auth/google/callback", s)
	}
	return nil
}
