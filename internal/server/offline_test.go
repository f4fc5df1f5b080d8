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
func (e *env) publicKeys() keybox.PublicKeys {
	e.t.Helper()
	r := e.do("GET", "/validate/public-keys", "", nil).want(e.t, 200, "")
	keys := keybox.PublicKeys{}
	for _, k := range r.list("keys") {
		m := k.(map[string]any)
		raw, err := base64.StdEncoding.DecodeString(m["publicKey"].(string))
		if err != nil || len(raw) != ed25519.PublicKeySize || m["algorithm"] != "Ed25519" {
			e.t.Fatalf("bad public key %v", m)
		}
		pk := keybox.PublicKey{ID: m["keyId"].(string), Key: raw}
		for name, at := range map[string]*keybox.Time{"createdAt": &pk.CreatedAt, "retiredAt": &pk.RetiredAt, "revokedAt": &pk.RevokedAt} {
			v, ok := m[name]
			if !ok {
				e.t.Fatalf("public key without %s: %v", name, m)
			}
			if v != nil {
				tm, err := time.Parse(time.RFC3339, v.(string))
				if err != nil {
					e.t.Fatalf("%s: %v", name, err)
				}
				*at = keybox.NewTime(tm)
			}
		}
		keys[pk.ID] = pk
	}
	return keys
}

// verifyFile checks a license file for key on machine.
func verifyFile(r response, keys keybox.PublicKeys, key, machine string, now time.Time) (keybox.LicenseFile, error) {
	return keybox.VerifyLicenseFile(r.str("license"), keys, key, machine, now)
}

// signedFor is the request an answer to body is bound to.
func signedFor(action string, body map[string]any) keybox.SignedRequest {
	str := func(k string) string { s, _ := body[k].(string); return s }
	return keybox.SignedRequest{Action: action, Key: str("key"), MachineID: str("machineId"), InstanceID: str("instanceId"),
		ProductName: str("productName"), Nonce: str("nonce")}
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
		f, err := verifyFile(r, keys, key, "m1", now)
		if err != nil {
			t.Fatalf("checked-out file: %v", err)
		}
		if f.Key != key || f.InstanceID != "i1" || f.ProductName != "Desk" || !f.ExpiresAt.Equal(now.Add(30*24*time.Hour)) || f.Status != keybox.StatusActive {
			t.Fatalf("payload %+v", f)
		}
		if _, err := verifyFile(r, keys, key, "m2", now); !errors.Is(err, keybox.ErrFileWrongMachine) {
			t.Fatalf("on another machine: %v", err)
		}
		if _, err := verifyFile(r, keys, other, "m1", now); !errors.Is(err, keybox.ErrFileWrongKey) {
			t.Fatalf("for another license key: %v", err)
		}
		// The file is bounded by the license's own expiry (3 months here).
		r = e.do("POST", "/validate/checkout", "", map[string]any{"key": key, "machineId": "m1", "ttl": 365 * 24 * 3600}).want(t, 200, "")
		f, err = verifyFile(r, keys, key, "m1", now)
		if err != nil || !f.ExpiresAt.Equal(now.AddDate(0, 3, 0)) || !f.LicenseExpiresAt.Equal(f.ExpiresAt.Time) {
			t.Fatalf("long ttl: %+v %v, want the file to end with the license", f, err)
		}
		if _, err := verifyFile(r, keys, key, "m1", now.AddDate(0, 3, 1)); !errors.Is(err, keybox.ErrFileExpired) {
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

		e.clock.Add(time.Minute)
		k, err := e.svc.RotateSigningKey(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		keys := e.publicKeys()
		if len(keys) != 2 || keys[k.ID].Key == nil {
			t.Fatalf("after rotation the keys are %v, want the old and the new", keys)
		}
		for id, pk := range keys {
			if retired := !pk.RetiredAt.IsZero(); retired != (id != k.ID) || !pk.RevokedAt.IsZero() {
				t.Fatalf("want only the old key retired: %+v", keys)
			}
		}
		now := e.clock.Now()
		if _, err := verifyFile(oldFile, keys, key, "m1", now); err != nil {
			t.Fatalf("a file signed before the rotation: %v", err)
		}
		newFile := e.do("POST", "/validate/checkout", "", map[string]any{"key": key, "machineId": "m1"}).want(t, 200, "")
		if newFile.str("keyId") != k.ID {
			t.Fatalf("new file signed by %s, want %s", newFile.str("keyId"), k.ID)
		}
		if _, err := verifyFile(newFile, oldKeys, key, "m1", now); !errors.Is(err, keybox.ErrFileUnknownKey) {
			t.Fatalf("a verifier that only knows the old key: %v, want ErrFileUnknownKey", err)
		}
		body := map[string]any{"key": key, "machineId": "m1", "nonce": "after-rotation"}
		v := e.do("POST", "/validate", "", body)
		if err := keybox.VerifyResponse(v.header.Get("KeyBox-Signature"), signedFor(keybox.ActionValidate, body), v.raw, keybox.PublicKeys{k.ID: keys[k.ID]}, now, time.Minute); err != nil {
			t.Fatalf("response after rotation: %v", err)
		}
	})
}

func TestSignedResponsesOverHTTP(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, key := e.newKey("ada@example.com")
		keys := e.publicKeys()
		now := e.clock.Now()
		// call sends body to path and checks the answer's signature for the
		// request as sent, or as req says when given.
		call := func(path, action string, body map[string]any) (response, error) {
			r := e.do("POST", path, "", body)
			return r, keybox.VerifyResponse(r.header.Get("KeyBox-Signature"), signedFor(action, body), r.raw, keys, now, time.Minute)
		}
		activation := map[string]any{"key": key, "machineId": "m1", "instanceId": "i1", "productName": "Desk", "nonce": "activate-nonce-1"}
		a, err := call("/validate/activate", keybox.ActionActivate, activation)
		a.want(t, 200, "License activated successfully")
		if err != nil {
			t.Fatalf("activation answer: %v", err)
		}
		validation := map[string]any{"key": key, "machineId": "m1", "instanceId": "i1", "productName": "Desk", "nonce": "validate-nonce-1"}
		v, err := call("/validate", keybox.ActionValidate, validation)
		v.want(t, 200, "")
		if err != nil {
			t.Fatalf("validation answer: %v", err)
		}
		// The answer is bound to the request: another nonce (a replay),
		// key, machine, instance, product or endpoint does not verify.
		for _, change := range []func(*keybox.SignedRequest){
			func(r *keybox.SignedRequest) { r.Nonce = "validate-nonce-2" },
			func(r *keybox.SignedRequest) { r.Key = "KB-SOMEONE-ELSE" },
			func(r *keybox.SignedRequest) { r.MachineID = "m2" },
			func(r *keybox.SignedRequest) { r.InstanceID = "" },
			func(r *keybox.SignedRequest) { r.ProductName = "" },
			func(r *keybox.SignedRequest) { r.Action = keybox.ActionActivate },
		} {
			req := signedFor(keybox.ActionValidate, validation)
			change(&req)
			if err := keybox.VerifyResponse(v.header.Get("KeyBox-Signature"), req, v.raw, keys, now, time.Minute); !errors.Is(err, keybox.ErrResponseSignature) {
				t.Errorf("verified for %+v: got %v, want ErrResponseSignature", req, err)
			}
		}
		// The aliases sign as their endpoints do.
		if _, err := call("/license/", keybox.ActionValidate, validation); err != nil {
			t.Fatalf("POST /license/: %v", err)
		}
		if _, err := call("/license/activate", keybox.ActionActivate, activation); err != nil {
			t.Fatalf("POST /license/activate: %v", err)
		}
		// Refusals are signed too, so a fake "valid" cannot pass for a real one.
		bad, err := call("/validate", keybox.ActionValidate, map[string]any{"key": key, "machineId": "m9", "nonce": "validate-nonce-3"})
		bad.want(t, 200, "License is not valid for this machine")
		if err != nil {
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

// TestRotationReachesEveryServer: a rotation made through one server (or by
// `keybox keys rotate`) is picked up by another server sharing the database
// within 5 seconds of its clock, without a restart. Until then that server
// may still sign with the retired key, and a verifier that already knows of
// the retirement refuses what it signs.
func TestRotationReachesEveryServer(t *testing.T) {
	forEngine(t, func(t *testing.T, open func(testing.TB) keybox.Store) {
		store := open(t)
		a, b := newEnv(t, store), newEnv(t, store)
		_, key := a.newKey("ada@example.com")
		a.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "m1"}).want(t, 200, "")
		checkout := func(e *env) response {
			return e.do("POST", "/validate/checkout", "", map[string]any{"key": key, "machineId": "m1"}).want(t, 200, "")
		}
		old := checkout(b).str("keyId") // b has read the keys

		a.clock.Add(time.Second)
		b.clock.Add(time.Second)
		k, err := a.svc.RotateSigningKey(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		keys := a.publicKeys()
		if got := checkout(a).str("keyId"); got != k.ID {
			t.Fatalf("the rotating server signs with %s, want %s", got, k.ID)
		}
		// Within the refresh time b may still sign with the old key: a
		// verifier that knows of the rotation refuses it.
		if lagging := checkout(b); lagging.str("keyId") == old {
			if _, err := verifyFile(lagging, keys, key, "m1", b.clock.Now()); !errors.Is(err, keybox.ErrFileRetiredKey) {
				t.Fatalf("a file signed after its key's retirement: got %v, want ErrFileRetiredKey", err)
			}
			body := map[string]any{"key": key, "machineId": "m1", "nonce": "lagging-nonce"}
			v := b.do("POST", "/validate", "", body)
			if err := keybox.VerifyResponse(v.header.Get("KeyBox-Signature"), signedFor(keybox.ActionValidate, body), v.raw, keys, b.clock.Now(), time.Minute); !errors.Is(err, keybox.ErrResponseRetiredKey) {
				t.Fatalf("an answer signed after its key's retirement: got %v, want ErrResponseRetiredKey", err)
			}
		}
		b.clock.Add(5 * time.Second)
		r := checkout(b)
		if r.str("keyId") != k.ID {
			t.Fatalf("5 s after the rotation the other server signs with %s, want %s", r.str("keyId"), k.ID)
		}
		if _, err := verifyFile(r, keys, key, "m1", b.clock.Now()); err != nil {
			t.Fatalf("its file: %v", err)
		}
		body := map[string]any{"key": key, "machineId": "m1", "nonce": "caught-up-nonce"}
		v := b.do("POST", "/validate", "", body)
		if err := keybox.VerifyResponse(v.header.Get("KeyBox-Signature"), signedFor(keybox.ActionValidate, body), v.raw, keybox.PublicKeys{k.ID: keys[k.ID]}, b.clock.Now(), time.Minute); err != nil {
			t.Fatalf("its answers: %v", err)
		}
	})
}

// TestRevokedSigningKey: a revoked key is published as revoked, verifies
// nothing it signed (before or after), and a new key signs in its place.
func TestRevokedSigningKey(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, key := e.newKey("ada@example.com")
		e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "m1"}).want(t, 200, "")
		before := e.do("POST", "/validate/checkout", "", map[string]any{"key": key, "machineId": "m1"}).want(t, 200, "")
		leaked := before.str("keyId")
		body := map[string]any{"key": key, "machineId": "m1", "nonce": "before-revocation"}
		answer := e.do("POST", "/validate", "", body)

		e.clock.Add(time.Hour)
		replacement, err := e.svc.RevokeSigningKey(t.Context(), leaked)
		if err != nil {
			t.Fatal(err)
		}
		if replacement.ID == "" || replacement.ID == leaked {
			t.Fatalf("revoking the active key made %q, want a new key", replacement.ID)
		}
		keys := e.publicKeys()
		if k := keys[leaked]; k.RevokedAt.IsZero() || !k.RevokedAt.Equal(e.clock.Now()) || k.RetiredAt.IsZero() {
			t.Fatalf("the revoked key is published as %+v", k)
		}
		now := e.clock.Now()
		if _, err := verifyFile(before, keys, key, "m1", now); !errors.Is(err, keybox.ErrFileRevokedKey) {
			t.Fatalf("a file signed before the revocation: got %v, want ErrFileRevokedKey", err)
		}
		if err := keybox.VerifyResponse(answer.header.Get("KeyBox-Signature"), signedFor(keybox.ActionValidate, body), answer.raw, keys, now.Add(-time.Hour), time.Minute); !errors.Is(err, keybox.ErrResponseRevokedKey) {
			t.Fatalf("an answer signed before the revocation: got %v, want ErrResponseRevokedKey", err)
		}
		after := e.do("POST", "/validate/checkout", "", map[string]any{"key": key, "machineId": "m1"}).want(t, 200, "")
		if after.str("keyId") != replacement.ID {
			t.Fatalf("signed by %s after the revocation, want %s", after.str("keyId"), replacement.ID)
		}
		if _, err := verifyFile(after, keys, key, "m1", now); err != nil {
			t.Fatalf("a file from the new key: %v", err)
		}
		// Revoking again changes nothing; an unknown key is not found.
		if again, err := e.svc.RevokeSigningKey(t.Context(), leaked); err != nil || again.ID != "" {
			t.Fatalf("revoking twice: %+v %v", again, err)
		}
		if _, err := e.svc.RevokeSigningKey(t.Context(), "kb-0000000000000000"); keybox.ErrorCode(err) != keybox.NotFound {
			t.Fatalf("revoking an unknown key: %v, want not found", err)
		}
		if len(e.publicKeys()) != 2 {
			t.Fatalf("keys after revoking twice: %+v", e.publicKeys())
		}
	})
}
