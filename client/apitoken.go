package client

import (
	"context"
	"time"

	"github.com/keyboxhq/keybox"
)

// TokenInput is the body of POST /tokens.
type TokenInput struct {
	// Name says what the token is for ("billing", "ci").
	Name string
	// Scope is keybox.ScopeRead (calls that change nothing) or
	// keybox.ScopeWrite (those, and changes of clients, projects and
	// licenses). No API token reaches account, user or token administration.
	Scope keybox.Scope
	// ExpiresAt is when the token stops working; zero: never.
	ExpiresAt time.Time
}

// NewToken is an API token just made.
type NewToken struct {
	// Token is the secret (kbx_…): this is the only time it is shown. Keep
	// it where the script or integration reads its secrets, and give it to
	// Options.Token.
	Token    string          `json:"token"`
	APIToken keybox.APIToken `json:"apiToken"`
}

// CreateToken makes an API token for the logged-in account. It needs a
// login token: an API token cannot make tokens (403 "Token scope does not
// allow this").
func (c *Client) CreateToken(ctx context.Context, in TokenInput) (NewToken, error) {
	body := map[string]any{"name": in.Name, "scope": in.Scope}
	if !in.ExpiresAt.IsZero() {
		body["expiresAt"] = in.ExpiresAt.UTC().Format(time.RFC3339Nano)
	}
	var out NewToken
	err := c.do(ctx, "POST", "/tokens", nil, body, &out)
	return out, err
}

// Tokens lists the account's API tokens, newest first, expired ones
// included, with when each was last used; never their secrets.
func (c *Client) Tokens(ctx context.Context) ([]keybox.APIToken, error) {
	var out struct {
		Tokens []keybox.APIToken `json:"tokens"`
	}
	err := c.do(ctx, "GET", "/tokens", nil, nil, &out)
	return out.Tokens, err
}

// RevokeToken revokes one of the account's API tokens: every server
// refuses it from its next request.
func (c *Client) RevokeToken(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", "/tokens/"+esc(id), nil, nil, nil)
}
