// Package signintest is a real OpenID Connect provider for tests, on
// loopback: discovery document, key set, authorization and token endpoints,
// and RS256-signed ID tokens. It approves every authorization at once, as
// the user the test chose, and lets a test spoil what it sends next (a
// declined authorization, another audience, a wrong nonce, a bad signature,
// an outage) to see the sign-in refuse it.
package signintest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// User is who signs in at the provider.
type User struct {
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
}

// CodeTTL is how long the provider's authorization codes may be redeemed.
const CodeTTL = time.Minute

// Provider is a running test provider.
type Provider struct {
	// URL is the issuer, http://127.0.0.1:port.
	URL          string
	ClientID     string
	ClientSecret string

	now func() time.Time
	srv *httptest.Server

	mu       sync.Mutex
	user     User
	cancel   bool
	down     bool
	tamper   func(claims map[string]any)
	wrongKey bool
	codes    map[string]grant
	requests map[string]int
}

// grant is an authorization code's request.
type grant struct {
	user                      User
	clientID, redirect, nonce string
	challenge                 string
	expires                   time.Time
}

var (
	keysOnce         sync.Once
	signKey, fakeKey *rsa.PrivateKey
)

// keys are made once per test binary: RSA key generation is slow.
func keys() (*rsa.PrivateKey, *rsa.PrivateKey) {
	keysOnce.Do(func() {
		var err error
		if signKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if fakeKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return signKey, fakeKey
}

// New starts a provider that knows one client; now is its clock (the one
// the server under test uses, so token times agree). It stops when the test
// ends.
func New(t testing.TB, clientID, clientSecret string, now func() time.Time) *Provider {
	t.Helper()
	keys()
	p := &Provider{ClientID: clientID, ClientSecret: clientSecret, now: now,
		codes: map[string]grant{}, requests: map[string]int{},
		user: User{Subject: "subject-1", Email: "user@example.com", EmailVerified: true, Name: "Test User"}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		down := p.down
		p.requests[r.URL.Path]++
		p.mu.Unlock()
		if down {
			// As unreachable as a server can be while listening: the
			// connection closes without an answer.
			if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
				_ = c.Close()
			}
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	p.URL = p.srv.URL
	return p
}

// SignInAs makes u the user of the authorizations that follow.
func (p *Provider) SignInAs(u User) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.user = u
}

// Cancel makes the next authorization end as if the user declined.
func (p *Provider) Cancel() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cancel = true
}

// Tamper changes the claims of the next ID token before it is signed.
func (p *Provider) Tamper(fn func(claims map[string]any)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tamper = fn
}

// SignWithWrongKey signs the next ID token with a key the provider does
// not publish.
func (p *Provider) SignWithWrongKey() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.wrongKey = true
}

// SetDown makes the provider drop every connection (down) or answer again.
func (p *Provider) SetDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
}

// Requests counts the requests made to a path.
func (p *Provider) Requests(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests[path]
}

func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.URL,
		"authorization_endpoint":                p.URL + "/authorize",
		"token_endpoint":                        p.URL + "/token",
		"jwks_uri":                              p.URL + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"scopes_supported":                      []string{"openid", "email", "profile"},
	})
}

func (p *Provider) jwks(w http.ResponseWriter, r *http.Request) {
	key, _ := keys()
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": "test-key",
		"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes()),
	}}})
}

// authorize approves at once, as the current user, and sends the browser
// back with a code; it refuses requests without PKCE or a nonce.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	cancel := p.cancel
	p.cancel = false
	user := p.user
	p.mu.Unlock()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Scheme == "" || redirect.Host == "" {
		http.Error(w, "invalid redirect_uri", http.StatusBadRequest)
		return
	}
	back := redirect.Query()
	back.Set("state", q.Get("state"))
	switch {
	case cancel:
		back.Set("error", "access_denied")
		back.Set("error_description", "The user declined.")
	case q.Get("client_id") != p.ClientID || q.Get("response_type") != "code":
		back.Set("error", "unauthorized_client")
	case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256" || q.Get("nonce") == "" ||
		!strings.Contains(" "+q.Get("scope")+" ", " openid "):
		back.Set("error", "invalid_request")
	default:
		code := b64(randomBytes())
		p.mu.Lock()
		p.codes[code] = grant{user: user, clientID: q.Get("client_id"), redirect: q.Get("redirect_uri"),
			nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), expires: p.now().Add(CodeTTL)}
		p.mu.Unlock()
		back.Set("code", code)
	}
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// token redeems a code once, for its client, with its redirect URI and the
// PKCE verifier of its challenge.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != p.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(p.ClientSecret)) != 1 {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	p.mu.Lock()
	g, found := p.codes[r.PostForm.Get("code")]
	delete(p.codes, r.PostForm.Get("code"))
	tamper, wrongKey := p.tamper, p.wrongKey
	p.tamper, p.wrongKey = nil, false
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	switch {
	case r.PostForm.Get("grant_type") != "authorization_code" || !found || p.now().After(g.expires) ||
		g.clientID != id || g.redirect != r.PostForm.Get("redirect_uri") || b64(sum[:]) != g.challenge:
		oauthError(w, http.StatusBadRequest, "invalid_grant")
		return
	}
	now := p.now()
	claims := map[string]any{
		"iss": p.URL, "sub": g.user.Subject, "aud": p.ClientID, "azp": p.ClientID,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "nonce": g.nonce,
		"email": g.user.Email, "email_verified": g.user.EmailVerified, "name": g.user.Name,
	}
	if tamper != nil {
		tamper(claims)
	}
	key, fake := keys()
	if wrongKey {
		key = fake
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": b64(randomBytes()), "token_type": "Bearer", "expires_in": 3600,
		"id_token": sign(key, claims),
	})
}

// sign makes a compact RS256 JWS of claims.
func sign(key *rsa.PrivateKey, claims map[string]any) string {
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "test-key"})
	payload, err := json.Marshal(claims)
	if err != nil {
		panic(err)
	}
	input := b64(header) + "." + b64(payload)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	return input + "." + b64(sig)
}

func oauthError(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, map[string]string{"error": code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func randomBytes() []byte {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return b
}
