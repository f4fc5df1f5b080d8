package client_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keyboxhq/keybox/client"
	"github.com/keyboxhq/keybox/internal/servertest"
	"github.com/keyboxhq/keybox/internal/signin"
	"github.com/keyboxhq/keybox/internal/signin/signintest"
)

// TestSignInCode: the SDK lists the providers, and exchanges the one-time
// code of a browser's sign-in for a login, once.
func TestSignInCode(t *testing.T) {
	var clock *servertest.Clock
	idp := signintest.New(t, "keybox", "secret", func() time.Time { return clock.Now() })
	kb := sqliteServer(t, servertest.Options{SignIn: []signin.ProviderConfig{
		{ID: "oidc", Name: "Acme SSO", Key: idp.URL, Issuer: idp.URL, ClientID: "keybox", ClientSecret: "secret"},
	}})
	clock = kb.Clock
	ctx := context.Background()
	c, err := client.New(kb.URL, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.Providers(ctx)
	if err != nil || len(list) != 1 || list[0] != (client.Provider{ID: "oidc", Name: "Acme SSO", URL: "/auth/oidc"}) {
		t.Fatalf("providers: %+v, %v", list, err)
	}

	// A browser signs in, and stops where the server sends it to the dashboard.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if r.URL.Path == "/app/" {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := browser.Get(kb.URL + list[0].URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	code := strings.TrimPrefix(loc.Fragment, "/signin?code=")
	if code == "" || code == loc.Fragment {
		t.Fatalf("the sign-in ended at %s", loc)
	}
	code, _ = url.QueryUnescape(code)

	s, err := c.ExchangeSignInCode(ctx, code)
	if err != nil || s.Role != "ADMIN" {
		t.Fatalf("exchange: %+v, %v", s, err)
	}
	if me, err := c.Me(ctx); err != nil || me.Email != "user@example.com" {
		t.Fatalf("me: %+v, %v", me, err)
	}
	_, err = c.ExchangeSignInCode(ctx, code)
	wantAPIError(t, err, 401, "Invalid or expired sign-in code")
}
