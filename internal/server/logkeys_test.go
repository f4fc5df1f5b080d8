package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/servertest"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// brokenKeyStore fails every read of one license, as a database might.
type brokenKeyStore struct {
	keybox.Store
	key string
}

func (s brokenKeyStore) License(ctx context.Context, key string) (keybox.License, error) {
	if key == s.key {
		return keybox.License{}, errors.New("database on fire")
	}
	return s.Store.License(ctx, key)
}

func (s brokenKeyStore) LicenseWithSeats(ctx context.Context, key string) (keybox.License, []keybox.Activation, error) {
	if key == s.key {
		return keybox.License{}, nil, errors.New("database on fire")
	}
	return s.Store.LicenseWithSeats(ctx, key)
}

// TestKeysNeverInInfoLogs: whoever reads the logs at info level (an
// operator, a log shipper, whoever steals them) finds no license key:
// neither in paths that carry one, nor in failures of the management or
// the public API, nor in 500s. Request lines name the route and a key's
// fingerprint, the same on every server sharing the secret.
func TestKeysNeverInInfoLogs(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	const broken, short, unknown = "BOOM-7QX2M-9HD4T", "QZ7W", "KB-NOPE1-NOPE2-NOPE3-NOPE4"
	e := newEnv(t, brokenKeyStore{storetest.SQLite(t), broken}, func(o *servertest.Options) { o.Logger = logger })
	token, key := e.newKey("ada@example.com")
	lic := e.do("GET", "/license/"+key, token, nil).want(t, 200, "").obj("license")
	for _, k := range []string{short, broken} {
		e.do("POST", "/license/create", token, map[string]any{"duration": 1, "clientId": lic["client"], "projectId": lic["project"], "key": k}).want(t, 201, "")
	}
	e.do("POST", "/validate/activate", "", map[string]any{"key": short, "machineId": "m"}).want(t, 200, "")
	seat := e.do("GET", "/license/"+short, token, nil).want(t, 200, "").list("activations")[0].(map[string]any)["_id"].(string)

	type req struct {
		method, path string
		body         any
		status       int
	}
	pub := func(path, k string, status int) req {
		return req{"POST", path, map[string]any{"key": k, "machineId": "other"}, status}
	}
	reqs := []req{
		{"GET", "/license/" + url.PathEscape(short), nil, 200},
		{"PATCH", "/license/" + key, map[string]any{"maxMachines": 3}, 200},
		{"PATCH", "/license/" + key, map[string]any{"maxMachines": 0}, 400},
		{"PATCH", "/license/revoke/" + key, nil, 200},
		{"POST", "/license/renew/" + short, map[string]any{"duration": 1}, 200},
		{"POST", "/license/renew/" + key, map[string]any{"duration": "x"}, 400},
		{"DELETE", "/license/" + short + "/activations/" + seat, nil, 200},
		{"DELETE", "/license/" + short + "/activations/" + seat, nil, 404},
		{"GET", "/license/" + unknown, nil, 404},
		{"PATCH", "/license/revoke/" + unknown, nil, 404},
		{"GET", "/license/" + key, "", 401},         // no token
		{"GET", "/license/revoke/" + key, nil, 405}, // no such route for GET
		{"DELETE", "/license/" + key, nil, 405},
		{"GET", "/licenses/" + key, nil, 404}, // a typo
		{"GET", "/" + key, nil, 404},
		{"GET", "/license/" + broken, nil, 500},
		pub("/validate/activate", key, 403), // revoked above
		pub("/validate/activate", unknown, 404),
		pub("/license/activate", unknown, 404),
		pub("/validate/deactivate", short, 404),
		pub("/validate/checkout", short, 404),
		pub("/validate", unknown, 200),
		pub("/validate", broken, 500),
		pub("/validate/activate", broken, 200),                             // reads in a transaction, which still works
		{"POST", "/validate", `{"key": "` + key + `", "machineId": `, 400}, // invalid JSON
	}
	for _, r := range reqs {
		tok := token
		if r.body == "" {
			tok, r.body = "", nil
		}
		if got := e.do(r.method, r.path, tok, r.body); got.status != r.status {
			t.Errorf("%s %s: got %d %s, want %d", r.method, r.path, got.status, got.raw, r.status)
		}
	}

	mu.Lock()
	defer mu.Unlock()
	logs := buf.String()
	for _, k := range []string{key, short, broken, unknown, url.PathEscape(key)} {
		if strings.Contains(logs, k) {
			t.Errorf("the logs hold the key %q:\n%s", k, logs)
		}
	}
	// Lines still say what was addressed: the route and the key's fingerprint.
	var failed, addressed bool
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var l map[string]any
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if l["msg"] == "request failed" && l["route"] == "GET /license/{key}" && l["keyFingerprint"] == e.svc.KeyFingerprint(broken) {
			failed = true
		}
		if l["msg"] == "request" && l["route"] == "PATCH /license/revoke/{key}" && l["keyFingerprint"] == e.svc.KeyFingerprint(key) {
			addressed = true
		}
	}
	if !failed || !addressed {
		t.Errorf("no line names the route and fingerprint (500: %v, revoke: %v):\n%s", failed, addressed, logs)
	}
}
