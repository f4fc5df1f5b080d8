package server_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
)

// publicKeys fetches GET /validate/public-keys as a verifier would.
func (e *env) publicKeys() map[string]ed25519.PublicKey {
	e.t.Helper()
	r := e.do("GET", "/validate/public-keys", "", nil).want(e.t, 200, "")
	keys := map[string]ed25519.PublicKey{}
	for _, k := range r.list("keys") {
		m := k.(map[string]any)
		raw, err := base64.StdEncoding.DecodeString(m["publicKey"].(string))
		if err != nil || len(raw) != ed25519.PublicKeySize || m["algorithm"] != "Ed25519" {
			e.t.Fatalf("bad public key %v", m)
		}
		keys[m["keyId"].(string)] = raw
	}
	return keys
}

func TestPublicKeys(t *testing.T) {
	e := newEnv(t, storeSQLite(t))
	r := e.do("GET", "/validate/public-keys", "", nil).want(t, 200, "")
	if r.header.Get("Cache-Control") != "public, max-age=300" {
		t.Errorf("Cache-Control %q", r.header.Get("Cache-Control"))
	}
	golden(t, "public_keys", r.raw)
	// Starting again does not make another key.
	if err := e.svc.EnsureSigningKey(t.Context()); err != nil {
		t.Fatal(err)
	}
	if keys := e.publicKeys(); len(keys) != 1 {
		t.Fatalf("got %d keys after a second start, want 1", len(keys))
	}
}

func TestCheckout(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		token, key := e.newKey("ada@example.com")
		_, other := e.projectWithLicense(token, e.client(token, "O", "o@example.com"), "O")
		e.do("POST", "/validate/checkout", "", map[string]any{"key": key, "machineId": "m1"}).want(t, 404, "License is not activated on this machine")
		e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "m1", "instanceId": "i1", "productName": "Desk"}).want(t, 200, "")
		e.do("POST", "/validate/activate", "", map[string]any{"key": other, "machineId": "m1"}).want(t, 200, "")
		e.do("PATCH", "/license/revoke/"+other, token, nil).want(t, 200, "")

		cases := []struct {
			name   string
			body   map[string]any
			status int
			msg    string
		}{
			{"no key", map[string]any{"machineId": "m1"}, 400, "License key is required"},
			{"no machine", map[string]any{"key": key}, 400, "Machine ID is required"},
			{"bad ttl", map[string]any{"key": key, "machineId": "m1", "ttl": 5}, 400, "Invalid ttl: use whole seconds from 60 to 31536000"},
			{"unknown key", map[string]any{"key": "KB-NOPE", "machineId": "m1"}, 404, "License not found"},
			{"revoked", map[string]any{"key": other, "machineId": "m1"}, 403, "License has been revoked"},
			{"another product", map[string]any{"key": key, "machineId": "m1", "productName": "Other"}, 403, "License key is not valid for this product"},
			{"machine without a seat", map[string]any{"key": key, "machineId": "m2"}, 404, "License is not activated on this machine"},
		}
		for _, tc := range cases {
			r := e.do("POST", "/validate/checkout", "", tc.body)
			if r.status != tc.status || r.body["message"] != tc.msg || r.body["success"] != false {
				t.Errorf("%s: got %d %s, want %d %q", tc.name, r.status, r.raw, tc.status, tc.msg)
			}
		}

		keys := e.publicKeys()
		now := e.clock.Now()
		r := e.do("POST", "/validate/checkout", "", map[string]any{"key": key, "machineId": "m1"}).want(t, 200, "")
		golden(t, "checkout", r.raw)
		f, err := keybox.VerifyLicenseFile(r.str("license"), keys, "m1", now)
		if err != nil {
			t.Fatalf("checked-out file: %v", err)
		}
		if f.Key != key || f.InstanceID != "i1" || f.ProductName != "Desk" || !f.ExpiresAt.Equal(now.Add(30*24*time.Hour)) || f.Status != keybox.StatusActive {
			t.Fatalf("payload %+v", f)
		}
		if _, err := keybox.VerifyLicenseFile(r.str("license"), keys, "m2", now); !errors.Is(err, keybox.ErrFileWrongMachine) {
			t.Fatalf("on another machine: %v", err)
		}
		// The file is bounded by the license's own expiry (3 months here).
		r = e.do("POST", "/validate/checkout", "", map[string]any{"key": key, "machineId": "m1", "ttl": 365 * 24 * 3600}).want(t, 200, "")
		f, err = keybox.VerifyLicenseFile(r.str("license"), keys, "m1", now)
		if err != nil || !f.ExpiresAt.Equal(now.AddDate(0, 3, 0)) || !f.LicenseExpiresAt.Equal(f.ExpiresAt.Time) {
			t.Fatalf("long ttl: %+v %v, want the file to end with the license", f, err)
		}
		if _, err := keybox.VerifyLicenseFile(r.str("license"), keys, "m1", now.AddDate(0, 3, 1)); !errors.Is(err, keybox.ErrFileExpired) {
			t.Fatalf("after the license's end: %v", err)
		}
	})
}

// TestRotation: after a rotation old files still verify, new files use the
// new key, and responses are signed with it.
func TestRotation(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, key := e.newKey("ada@example.com")
		e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "m1"}).want(t, 200, "")
		oldFile := e.do("POST", "/validate/checkout", "", map[string]any{"key": key, "machineId": "m1"}).want(t, 200, "")
		oldKeys := e.publicKeys()

		k, err := e.svc.RotateSigningKey(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		keys := e.publicKeys()
		if len(keys) != 2 || keys[k.ID] == nil {
			t.Fatalf("after rotation the keys are %v, want the old and the new", keys)
		}
		r := e.do("GET", "/validate/public-keys", "", nil)
		for _, pk := range r.list("keys") {
			m := pk.(map[string]any)
			if retired := m["retiredAt"] != nil; retired != (m["keyId"] != k.ID) {
				t.Fatalf("want only the old key retired: %s", r.raw)
			}
		}
		now := e.clock.Now()
		if _, err := keybox.VerifyLicenseFile(oldFile.str("license"), keys, "m1", now); err != nil {
			t.Fatalf("a file signed before the rotation: %v", err)
		}
		newFile := e.do("POST", "/validate/checkout", "", map[string]any{"key": key, "machineId": "m1"}).want(t, 200, "")
		if newFile.str("keyId") != k.ID {
			t.Fatalf("new file signed by %s, want %s", newFile.str("keyId"), k.ID)
		}
		if _, err := keybox.VerifyLicenseFile(newFile.str("license"), oldKeys, "m1", now); !errors.Is(err, keybox.ErrFileUnknownKey) {
			t.Fatalf("a verifier that only knows the old key: %v, want ErrFileUnknownKey", err)
		}
		v := e.do("POST", "/validate", "", map[string]any{"key": key, "machineId": "m1", "nonce": "after-rotation"})
		if err := keybox.VerifyResponse(v.header.Get("KeyBox-Signature"), "after-rotation", v.raw, map[string]ed25519.PublicKey{k.ID: keys[k.ID]}, now, time.Minute); err != nil {
			t.Fatalf("response after rotation: %v", err)
		}
	})
}

func TestSignedResponsesOverHTTP(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, key := e.newKey("ada@example.com")
		keys := e.publicKeys()
		now := e.clock.Now()
		verify := func(r response, nonce string) error {
			return keybox.VerifyResponse(r.header.Get("KeyBox-Signature"), nonce, r.raw, keys, now, time.Minute)
		}
		a := e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "m1", "nonce": "activate-nonce-1"}).want(t, 200, "License activated successfully")
		if err := verify(a, "activate-nonce-1"); err != nil {
			t.Fatalf("activation answer: %v", err)
		}
		v := e.do("POST", "/validate", "", map[string]any{"key": key, "machineId": "m1", "nonce": "validate-nonce-1"}).want(t, 200, "")
		if err := verify(v, "validate-nonce-1"); err != nil {
			t.Fatalf("validation answer: %v", err)
		}
		// Replayed to an application that asked with another nonce.
		if err := verify(v, "validate-nonce-2"); !errors.Is(err, keybox.ErrResponseSignature) {
			t.Fatalf("replayed answer: got %v, want ErrResponseSignature", err)
		}
		// Refusals are signed too, so a fake "valid" cannot pass for a real one.
		bad := e.do("POST", "/validate", "", map[string]any{"key": key, "machineId": "m9", "nonce": "validate-nonce-3"}).want(t, 200, "License is not valid for this machine")
		if err := verify(bad, "validate-nonce-3"); err != nil {
			t.Fatalf("refusal: %v", err)
		}
		// No nonce, no signature; a bad nonce is refused and nothing is signed.
		if h := e.do("POST", "/validate", "", map[string]any{"key": key}).header.Get("KeyBox-Signature"); h != "" {
			t.Fatalf("signed without a nonce: %q", h)
		}
		r := e.do("POST", "/validate", "", map[string]any{"key": key, "nonce": "short"}).want(t, 400, "Invalid nonce: use 8 to 256 printable characters")
		if r.header.Get("KeyBox-Signature") != "" || r.body["valid"] != false {
			t.Fatalf("bad nonce answer: %s %v", r.raw, r.header)
		}
	})
}
