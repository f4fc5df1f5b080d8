package keybox_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
)

var update = flag.Bool("update", false, "rewrite testdata/license-file-vector.json")

// testKey is a fixed Ed25519 key, so that files are the same on every run.
func testKey(seed byte) keybox.SigningKey {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
	pub := priv.Public().(ed25519.PublicKey)
	return keybox.SigningKey{ID: keybox.KeyID(pub), PublicKey: pub, PrivateKey: priv}
}

var fileIssued = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testFile(k keybox.SigningKey) keybox.LicenseFile {
	return keybox.LicenseFile{
		KeyID: k.ID, Key: "KB-7QX2M-9HD4T-KAW3E-PZ81C", Status: keybox.StatusActive,
		Services: []keybox.Service{keybox.ServiceHosting}, LicenseExpiresAt: keybox.NewTime(fileIssued.AddDate(1, 0, 0)),
		MachineID: "machine-1", InstanceID: "instance-1", ProductName: "Acme Desktop",
		IssuedAt: keybox.NewTime(fileIssued), ExpiresAt: keybox.NewTime(fileIssued.Add(30 * 24 * time.Hour)),
	}
}

func keyset(ks ...keybox.SigningKey) map[string]ed25519.PublicKey {
	m := map[string]ed25519.PublicKey{}
	for _, k := range ks {
		m[k.ID] = k.PublicKey
	}
	return m
}

func sign(t *testing.T, f keybox.LicenseFile, k keybox.SigningKey) string {
	t.Helper()
	text, err := keybox.SignLicenseFile(f, k.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// tamper changes one byte of the signed payload, the last digit of the
// file's expiry year, and keeps the signature: what someone extending a
// license by hand would do.
func tamper(t testing.TB, text string) string {
	t.Helper()
	_, payload, sig, err := keybox.ParseLicenseFile(text)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(payload, []byte(`"expiresAt":"2026`))
	if i < 0 {
		t.Fatalf("no expiry in %s", payload)
	}
	payload[i+len(`"expiresAt":"2026`)-1] = '9'
	body := base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(sig)
	return "-----BEGIN KEYBOX LICENSE-----\n" + body + "\n-----END KEYBOX LICENSE-----\n"
}

// flipSignature changes one character of the signature.
func flipSignature(text string) string {
	i := strings.Index(text, ".") + 5
	b := []byte(text)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func TestVerifyLicenseFile(t *testing.T) {
	k, other := testKey(1), testKey(2)
	valid := sign(t, testFile(k), k)
	now := fileIssued.Add(time.Hour)
	future := testFile(k)
	future.IssuedAt = keybox.NewTime(now.Add(keybox.MaxClockDrift + time.Minute))
	slightlyAhead := testFile(k)
	slightlyAhead.IssuedAt = keybox.NewTime(now.Add(keybox.MaxClockDrift - time.Minute))
	revoked := testFile(k)
	revoked.Status = keybox.StatusRevoked

	cases := []struct {
		name    string
		file    string
		keys    map[string]ed25519.PublicKey
		machine string
		now     time.Time
		want    error
	}{
		{"valid", valid, keyset(k), "machine-1", now, nil},
		{"valid, with the old key still published", valid, keyset(other, k), "machine-1", now, nil},
		{"one byte of the payload changed", tamper(t, valid), keyset(k), "machine-1", now, keybox.ErrFileSignature},
		{"one character of the signature changed", flipSignature(valid), keyset(k), "machine-1", now, keybox.ErrFileSignature},
		{"expired", valid, keyset(k), "machine-1", fileIssued.Add(30 * 24 * time.Hour), keybox.ErrFileExpired},
		{"another machine", valid, keyset(k), "machine-2", now, keybox.ErrFileWrongMachine},
		{"unknown key", valid, keyset(other), "machine-1", now, keybox.ErrFileUnknownKey},
		{"signed by another key under this key's id", sign(t, testFile(k), other), keyset(k), "machine-1", now, keybox.ErrFileSignature},
		{"issued in the future", sign(t, future, k), keyset(k), "machine-1", now, keybox.ErrFileNotYetValid},
		{"a little ahead, within drift", sign(t, slightlyAhead, k), keyset(k), "machine-1", now, nil},
		{"not active", sign(t, revoked, k), keyset(k), "machine-1", now, keybox.ErrFileInactive},
		{"no armor", strings.Split(valid, "\n")[1], keyset(k), "machine-1", now, keybox.ErrFileMalformed},
		{"garbage", "-----BEGIN KEYBOX LICENSE-----\n%%%\n-----END KEYBOX LICENSE-----\n", keyset(k), "machine-1", now, keybox.ErrFileMalformed},
	}
	for _, tc := range cases {
		f, err := keybox.VerifyLicenseFile(tc.file, tc.keys, tc.machine, tc.now)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
		if tc.want == nil && f.Key != "KB-7QX2M-9HD4T-KAW3E-PZ81C" {
			t.Errorf("%s: payload %+v", tc.name, f)
		}
	}
	// Each failure has an error of its own.
	seen := map[error]bool{}
	for _, err := range []error{keybox.ErrFileMalformed, keybox.ErrFileUnknownKey, keybox.ErrFileSignature, keybox.ErrFileExpired,
		keybox.ErrFileNotYetValid, keybox.ErrFileWrongMachine, keybox.ErrFileInactive} {
		if seen[err] {
			t.Fatalf("%v is not distinct", err)
		}
		seen[err] = true
	}
}

func TestSignedResponses(t *testing.T) {
	k, other := testKey(1), testKey(2)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	body := []byte(`{"valid":true,"status":"active","duration":"12 months","expiresAt":1795000000000}` + "\n")
	header := keybox.SignResponse(k, "nonce-0001", at, body)
	cases := []struct {
		name   string
		header string
		nonce  string
		body   []byte
		keys   map[string]ed25519.PublicKey
		now    time.Time
		want   error
	}{
		{"genuine", header, "nonce-0001", body, keyset(k), at.Add(time.Second), nil},
		{"replayed for another nonce", header, "nonce-0002", body, keyset(k), at.Add(time.Second), keybox.ErrResponseSignature},
		{"body changed", header, "nonce-0001", bytes.Replace(body, []byte("true"), []byte("fals"), 1), keyset(k), at, keybox.ErrResponseSignature},
		{"unsigned (a fake server)", "", "nonce-0001", body, keyset(k), at, keybox.ErrResponseUnsigned},
		{"unknown key", header, "nonce-0001", body, keyset(other), at, keybox.ErrResponseUnknown},
		{"stale", header, "nonce-0001", body, keyset(k), at.Add(10 * time.Minute), keybox.ErrResponseStale},
		{"malformed", "keyId=x, ts=now, sig=y", "nonce-0001", body, keyset(k), at, keybox.ErrResponseMalformed},
	}
	for _, tc := range cases {
		if err := keybox.VerifyResponse(tc.header, tc.nonce, tc.body, tc.keys, tc.now, 5*time.Minute); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

func FuzzParseLicenseFile(f *testing.F) {
	k := testKey(1)
	text, err := keybox.SignLicenseFile(testFile(k), k.PrivateKey)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(text)
	f.Add("-----BEGIN KEYBOX LICENSE-----\n.\n-----END KEYBOX LICENSE-----")
	f.Add("-----END KEYBOX LICENSE----------BEGIN KEYBOX LICENSE-----")
	keys := keyset(k)
	f.Fuzz(func(t *testing.T, s string) {
		lf, err := keybox.VerifyLicenseFile(s, keys, "machine-1", fileIssued)
		if err == nil && lf.Key == "" {
			t.Fatalf("accepted a file without a key: %q", s)
		}
	})
}

// vector is the committed test vector other SDKs check themselves against.
type vector struct {
	Description string `json:"description"`
	Seed        string `json:"ed25519Seed"`
	PublicKey   []byte `json:"publicKey"`
	KeyID       string `json:"keyId"`
	Payload     string `json:"payload"`
	File        string `json:"file"`
	VerifyAt    string `json:"verifyAt"`
	MachineID   string `json:"machineId"`
	Tampered    string `json:"tamperedFile"`
}

// TestVector: testdata/license-file-vector.json holds a fixed key, payload
// and file. Signing the payload again with the seed gives the same file
// (Ed25519 is deterministic), the file verifies, and the tampered copy does not.
func TestVector(t *testing.T) {
	k := testKey(1)
	f := testFile(k)
	text := sign(t, f, k)
	_, payload, _, err := keybox.ParseLicenseFile(text)
	if err != nil {
		t.Fatal(err)
	}
	want := vector{
		Description: "KeyBox offline license file test vector: sign payload with the Ed25519 key from the 32-byte seed (hex); " +
			"the result must equal file, which must verify at verifyAt for machineId; tamperedFile must fail its signature check. See docs/offline-licensing.md.",
		Seed: strings.Repeat("01", 32), PublicKey: k.PublicKey, KeyID: k.ID, Payload: string(payload), File: text,
		VerifyAt: fileIssued.Add(time.Hour).Format(time.RFC3339), MachineID: "machine-1", Tampered: tamper(t, text),
	}
	path := filepath.Join("testdata", "license-file-vector.json")
	if *update {
		b, err := json.MarshalIndent(want, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run TestVector -update writes it)", err)
	}
	var got vector
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("the vector no longer matches the code:\ncommitted %+v\ncomputed  %+v", got, want)
	}
	at, _ := time.Parse(time.RFC3339, got.VerifyAt)
	keys := map[string]ed25519.PublicKey{got.KeyID: got.PublicKey}
	if _, err := keybox.VerifyLicenseFile(got.File, keys, got.MachineID, at); err != nil {
		t.Fatalf("the vector's file does not verify: %v", err)
	}
	if _, err := keybox.VerifyLicenseFile(got.Tampered, keys, got.MachineID, at); !errors.Is(err, keybox.ErrFileSignature) {
		t.Fatalf("the tampered file: got %v, want ErrFileSignature", err)
	}
}
