package client

import (
	"context"

	"github.com/keyboxhq/keybox"
)

// Signup is the body of POST /auth/signup.
type Signup struct {
	Name            string `json:"name"`
	Email           string `json:"email"`
	Password        string `json:"password"`
	ConfirmPassword string `json:"confirm_password"`
}

// Signup creates an account and returns its id. The first account of an
// installation is its ADMIN. ConfirmPassword may be left empty: it is then
// sent equal to Password.
func (c *Client) Signup(ctx context.Context, in Signup) (string, error) {
	if in.ConfirmPassword == "" {
		in.ConfirmPassword = in.Password
	}
	var out struct {
		UserID string `json:"userId"`
	}
	err := c.do(ctx, "POST", "/auth/signup", nil, in, &out)
	return out.UserID, err
}

// Session is a successful login.
type Session struct {
	Token  string      `json:"token"`
	UserID string      `json:"userId"`
	Role   keybox.Role `json:"role"`
}

// Login checks the credentials and, on success, makes the client send the
// new token with every later call. Tokens expire (30 minutes by default).
func (c *Client) Login(ctx context.Context, email, password string) (Session, error) {
	var out Session
	in := map[string]string{"email": email, "password": password}
	if err := c.do(ctx, "POST", "/auth/login", nil, in, &out); err != nil {
		return Session{}, err
	}
	c.SetToken(out.Token)
	return out, nil
}

// Provider is a sign-in provider the server offers (Google, or an OpenID
// Connect provider): a browser signs in by following URL.
type Provider struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	URL  string `json:"url"`
}

// Providers lists the sign-in providers the server offers (none when empty).
func (c *Client) Providers(ctx context.Context) ([]Provider, error) {
	var out struct {
		Providers []Provider `json:"providers"`
	}
	err := c.do(ctx, "GET", "/auth/providers", nil, nil, &out)
	return out.Providers, err
}

// SignupStatus is whether signup is open and whether any account exists
// (false on a fresh installation, whose first account becomes its ADMIN).
type SignupStatus struct {
	Signup      string `json:"signup"` // "open" or "closed"
	HasAccounts bool   `json:"hasAccounts"`
}

// SignupStatus asks the server whether signup is open; it needs no login.
func (c *Client) SignupStatus(ctx context.Context) (SignupStatus, error) {
	var out SignupStatus
	err := c.do(ctx, "GET", "/auth/signup", nil, nil, &out)
	return out, err
}

// ExchangeSignInCode trades the one-time code a sign-in through a provider
// ended with (valid 60 seconds, once) for a login, as Login does.
func (c *Client) ExchangeSignInCode(ctx context.Context, code string) (Session, error) {
	var out Session
	if err := c.do(ctx, "POST", "/auth/exchange", nil, map[string]string{"code": code}, &out); err != nil {
		return Session{}, err
	}
	c.SetToken(out.Token)
	return out, nil
}

// Me returns the logged-in account.
func (c *Client) Me(ctx context.Context) (keybox.User, error) {
	var out struct {
		User keybox.User `json:"user"`
	}
	err := c.do(ctx, "GET", "/auth/me", nil, nil, &out)
	return out.User, err
}

// Users lists every account; ADMIN only (403 otherwise).
func (c *Client) Users(ctx context.Context) ([]keybox.User, error) {
	var out struct {
		Users []keybox.User `json:"users"`
	}
	err := c.do(ctx, "GET", "/auth/users", nil, nil, &out)
	return out.Users, err
}

// UserUpdate changes an account; nil members are left as they are.
type UserUpdate struct {
	Name  *string      `json:"name,omitempty"`
	Email *string      `json:"email,omitempty"`
	Role  *keybox.Role `json:"role,omitempty"`
}

// UpdateUser changes the caller's own account or, for an ADMIN, anyone's;
// only an ADMIN changes roles.
func (c *Client) UpdateUser(ctx context.Context, id string, in UserUpdate) (keybox.User, error) {
	var out struct {
		User keybox.User `json:"user"`
	}
	err := c.do(ctx, "PATCH", "/auth/users/"+esc(id), nil, in, &out)
	return out.User, err
}

// ChangePassword sets a new password for the logged-in account, which must
// prove it knows the current one. Every earlier login token of the account
// ends, and every API token is revoked; the client carries on with the
// fresh login token the server answers (Token returns it, to keep).
func (c *Client) ChangePassword(ctx context.Context, current, password string) error {
	in := map[string]string{"currentPassword": current, "password": password, "confirm_password": password}
	var out struct {
		Token string `json:"token"`
	}
	if err := c.do(ctx, "PATCH", "/auth/password", nil, in, &out); err != nil {
		return err
	}
	if out.Token != "" {
		c.SetToken(out.Token)
	}
	return nil
}

// Refresh exchanges the client's valid login token for a fresh one, which
// it sends from then on, and returns it. A session kept busy this way goes
// on; an expired token cannot be refreshed (log in again).
func (c *Client) Refresh(ctx context.Context) (string, error) {
	var out struct {
		Token string `json:"token"`
	}
	if err := c.do(ctx, "POST", "/auth/refresh", nil, nil, &out); err != nil {
		return "", err
	}
	c.SetToken(out.Token)
	return out.Token, nil
}

// LogoutAll ends every login token of the account, on every server: other
// devices and scripts, a token that may have leaked, and this client's own.
// It revokes every API token of the account too.
func (c *Client) LogoutAll(ctx context.Context) error {
	if err := c.do(ctx, "POST", "/auth/logout-all", nil, nil, nil); err != nil {
		return err
	}
	c.SetToken("")
	return nil
}

// DeleteUser deletes an account; ADMIN only, never the last ADMIN. An
// account that owns clients stays (409) unless cascade, which deletes its
// clients, projects, licenses and activations too.
func (c *Client) DeleteUser(ctx context.Context, id string, cascade bool) error {
	return c.do(ctx, "DELETE", "/auth/users/"+esc(id), cascadeQuery(cascade), nil, nil)
}

// UserLicenses is KeyBox's user view: an account and how many licenses it owns.
type UserLicenses struct {
	User         keybox.User `json:"user"`
	LicenseCount int         `json:"licenseCount"`
}

// MyLicenses is GET /license/me: the caller and the number of their licenses.
func (c *Client) MyLicenses(ctx context.Context) (UserLicenses, error) {
	var out UserLicenses
	err := c.do(ctx, "GET", "/license/me", nil, nil, &out)
	return out, err
}

// UserLicenses is GET /license/user/:id, for the caller or, as an ADMIN, anyone.
func (c *Client) UserLicenses(ctx context.Context, userID string) (UserLicenses, error) {
	var out UserLicenses
	err := c.do(ctx, "GET", "/license/user/"+esc(userID), nil, nil, &out)
	return out, err
}
