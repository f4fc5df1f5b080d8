// Package webhook delivers events to developers' endpoints: it signs each
// message as the Standard Webhooks specification says, refuses addresses
// inside the server's own network (at creation and again at every
// connection), sends with a timeout and without following redirects, and
// runs the delivery workers apart from requests.
package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
	"time"
)

// SecretPrefix starts a webhook secret as it is shown to its owner.
const SecretPrefix = "whsec_"

// SecretSize is the number of random bytes of a secret.
const SecretSize = 32

// Headers of a signed message.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// NewSecret draws a secret from r (crypto/rand when nil).
func NewSecret(r io.Reader) ([]byte, error) {
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, SecretSize)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("webhook secret: %w", err)
	}
	return b, nil
}

// EncodeSecret is a secret as its owner sees it: whsec_ and its standard
// base64, which Standard Webhooks libraries take as it is.
func EncodeSecret(secret []byte) string {
	return SecretPrefix + base64.StdEncoding.EncodeToString(secret)
}

// Signature signs a message: "v1," and the standard base64 of
// HMAC-SHA256(secret, id "." timestamp "." body), the timestamp in Unix
// seconds.
func Signature(secret []byte, id string, ts time.Time, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(strconv.FormatInt(ts.Unix(), 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}
