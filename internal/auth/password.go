// Package auth hashes passwords and issues and verifies login tokens. It knows
// nothing of HTTP or storage.
package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/bcrypt"
)

// DefaultCost is the bcrypt cost of stored passwords (about 60 ms here).
const DefaultCost = 10

// Passwords hashes and checks passwords with bcrypt. A hash is the most
// expensive thing the server does, so at most a few run at once; the rest
// wait their turn or give up with their request's context.
type Passwords struct {
	cost   int
	slots  chan struct{}
	dummy  []byte       // compared against when the account does not exist
	checks atomic.Int64 // passwords checked, for tests and metrics
	// compare is bcrypt's comparison; tests watch it to see that every
	// check does the same work.
	compare func(hash, password []byte) error
}

// NewPasswords returns a hasher at cost (DefaultCost when 0) allowing
// concurrent hashes at once.
func NewPasswords(cost, concurrent int) (*Passwords, error) {
	if cost == 0 {
		cost = DefaultCost
	}
	if concurrent < 1 {
		concurrent = 1
	}
	p := &Passwords{cost: cost, slots: make(chan struct{}, concurrent), compare: bcrypt.CompareHashAndPassword}
	dummy, err := bcrypt.GenerateFromPassword(prehash("keybox: no such account"), cost)
	if err != nil {
		return nil, fmt.Errorf("passwords: %w", err)
	}
	p.dummy = dummy
	return p, nil
}

// prehash lets passwords of any length through bcrypt's 72-byte limit.
// The base64 text has no NUL bytes, which bcrypt would stop at.
func prehash(password string) []byte {
	m := hmac.New(sha256.New, []byte("keybox-password-v1"))
	m.Write([]byte(password))
	return []byte(base64.StdEncoding.EncodeToString(m.Sum(nil)))
}

func (p *Passwords) acquire(ctx context.Context) error {
	select {
	case p.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("password hashing: %w", ctx.Err())
	}
}

func (p *Passwords) release() { <-p.slots }

// Hash returns the bcrypt hash of password.
func (p *Passwords) Hash(ctx context.Context, password string) (string, error) {
	if err := p.acquire(ctx); err != nil {
		return "", err
	}
	defer p.release()
	h, err := bcrypt.GenerateFromPassword(prehash(password), p.cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// bareBcrypt marks a stored hash that another system made with bcrypt of
// the password itself rather than of prehash: KeyBox's Node server did, and
// its users keep their passwords when their accounts are imported.
const bareBcrypt = "bcrypt-bare:"

// ImportBcrypt accepts a bcrypt hash made elsewhere of the password itself
// ("$2a$", "$2b$" or "$2y$", any cost) and returns the form to store, which
// Check verifies. As in every bcrypt, only the first 72 bytes of such a
// password count; the hash is replaced when its owner changes the password.
func ImportBcrypt(hash string) (string, error) {
	if len(hash) != 60 || !(strings.HasPrefix(hash, "$2a$") || strings.HasPrefix(hash, "$2b$") || strings.HasPrefix(hash, "$2y$")) {
		return "", errors.New("not a bcrypt hash ($2a$, $2b$ or $2y$, 60 characters)")
	}
	if _, err := bcrypt.Cost([]byte(hash)); err != nil {
		return "", fmt.Errorf("not a bcrypt hash: %w", err)
	}
	return bareBcrypt + hash, nil
}

// Checks returns how many passwords Check has compared since the start.
func (p *Passwords) Checks() int64 { return p.checks.Load() }

// Check reports whether password matches hash. An empty hash (no such
// account, or one that signs in only through a provider) is checked against
// a dummy hash of the same cost, so that the answer takes as long as for a
// real account.
func (p *Passwords) Check(ctx context.Context, hash, password string) (bool, error) {
	if err := p.acquire(ctx); err != nil {
		return false, err
	}
	defer p.release()
	p.checks.Add(1)
	h, pw := []byte(hash), prehash(password)
	if bare, ok := strings.CutPrefix(hash, bareBcrypt); ok {
		h, pw = []byte(bare), []byte(password)
	}
	if hash == "" {
		h = p.dummy
	}
	err := p.compare(h, pw)
	switch {
	case err == nil:
		return hash != "", nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	default:
		return false, fmt.Errorf("check password: %w", err)
	}
}
