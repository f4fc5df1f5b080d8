// Package client is the Go SDK of KeyBox. It has three parts:
//
//   - Client, the management API: accounts, API tokens, clients, projects,
//     licenses and the dashboard, for scripts, back offices and the keybox CLI
//     (with a login token or an API token, Options.Token);
//   - LicenseClient, the public license API that a shipped
//     application calls to activate, validate and deactivate its key;
//   - Guard, which keeps a net/http application's license checked and answers
//     402 while it is not active.
//
// The domain types are the root package's (keybox.Client, keybox.License, …):
// they decode from the wire as they are. Every answer that is not 2xx becomes
// an *APIError carrying the status and KeyBox's message.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// DefaultTimeout bounds a whole request (connect, send, read the answer) when
// the caller does not bring its own *http.Client. A licensing server that
// hangs must not hang its callers.
const DefaultTimeout = 30 * time.Second

// userAgent names the SDK in the server's access log.
const userAgent = "keybox-go"

// maxAnswer bounds how much of an answer is read; the largest (a dashboard of
// thousands of licenses) is a few megabytes.
const maxAnswer = 256 << 20

// Options configure a Client. The zero value talks to the server without a
// token, with a DefaultTimeout client.
type Options struct {
	// Token is the credential sent as "Authorization: Bearer": a login
	// token (see Client.Login), or an API token (kbx_…, see CreateToken),
	// which scripts and integrations use instead of a password. An API
	// token does not expire unless it was made to, and is never refreshed.
	Token string
	// HTTPClient sends the requests: bring one for proxies, custom TLS or
	// tracing. A client with DefaultTimeout when nil.
	HTTPClient *http.Client
	// UserAgent is sent as User-Agent ("keybox-go" when empty).
	UserAgent string
}

// Client calls the management API of one KeyBox server. It is safe for
// concurrent use.
type Client struct {
	base *url.URL
	http *http.Client
	ua   string

	mu    sync.RWMutex
	token string
}

// New returns a Client for the server at baseURL, such as
// "https://keybox.example.com" or "http://localhost:5000".
func New(baseURL string, opts Options) (*Client, error) {
	base, err := parseBase(baseURL)
	if err != nil {
		return nil, err
	}
	return &Client{base: base, http: httpClient(opts.HTTPClient), ua: orDefault(opts.UserAgent, userAgent), token: opts.Token}, nil
}

// Token returns the token the client sends: a login token or an API token.
func (c *Client) Token() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.token
}

// SetToken changes the token the client sends; Login calls it.
func (c *Client) SetToken(token string) {
	c.mu.Lock()
	c.token = token
	c.mu.Unlock()
}

// BaseURL returns the server's address as given to New, without a trailing slash.
func (c *Client) BaseURL() string { return strings.TrimSuffix(c.base.String(), "/") }

func parseBase(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("client: server address %q: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: server address %q must be http:// or https:// with a host", raw)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

func httpClient(c *http.Client) *http.Client {
	if c != nil {
		return c
	}
	return &http.Client{Timeout: DefaultTimeout}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// esc escapes one path segment: imported license keys may hold '/', '?' or '%'.
func esc(s string) string { return url.PathEscape(s) }

// endpoint joins the base URL with an already escaped path and a query.
func endpoint(base *url.URL, path string, query url.Values) string {
	u := base.String() + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return u
}

// do sends a request to the management API and decodes a 2xx answer into out
// (when not nil); any other answer is an *APIError.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	return send(ctx, c.http, c.ua, c.Token(), method, endpoint(c.base, path, query), in, out)
}

// send is the one place a request is made, for both API clients.
func send(ctx context.Context, hc *http.Client, ua, token, method, url string, in, out any) error {
	a, err := exchange(ctx, hc, ua, token, method, url, in)
	if err != nil {
		return err
	}
	return a.decode(out)
}

// answer is a response read whole.
type answer struct {
	resp   *http.Response // its body already read and closed
	raw    []byte
	method string
	url    string
}

// exchange sends a request and reads the answer, whatever its status.
func exchange(ctx context.Context, hc *http.Client, ua, token, method, url string, in any) (answer, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return answer{}, fmt.Errorf("client: encode %s %s: %w", method, url, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return answer{}, fmt.Errorf("client: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", ua)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("client: %s %s: %w", method, req.URL.Redacted(), unwrapURLError(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return answer{}, fmt.Errorf("client: %s %s: read answer: %w", method, req.URL.Redacted(), err)
	}
	return answer{resp: resp, raw: raw, method: method, url: req.URL.Redacted()}, nil
}

// decode turns a 2xx answer into out (when not nil) and any other into an *APIError.
func (a answer) decode(out any) error {
	if a.resp.StatusCode < 200 || a.resp.StatusCode > 299 {
		return newAPIError(a.resp, a.raw)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(a.raw, out); err != nil {
		return fmt.Errorf("client: %s %s: decode answer: %w", a.method, a.url, err)
	}
	return nil
}

// unwrapURLError drops *url.Error's own "Post \"…\":" prefix, which send
// already states.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Message is the answer of endpoints that only confirm ({"message": "…"}).
type Message struct {
	Message string `json:"message"`
}
