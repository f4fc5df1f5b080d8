package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keyboxhq/keybox/internal/storetest"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// request sends a JSON request with a token and decodes the answer.
func request(t *testing.T, method, url, token string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, url, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestWebhookSurvivesKill9: a change is committed while its webhook's
// endpoint is unreachable; the real server is killed with SIGKILL before it
// could deliver; started again, it delivers the event, signed, once the
// endpoint is back.
func TestWebhookSurvivesKill9(t *testing.T) {
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := []string{"KEYBOX_DATABASE_URL=" + e.URL(t), "KEYBOX_WEBHOOK_ALLOW_PRIVATE=true",
				"KEYBOX_JWT_SECRET=" + strings.Repeat("k", 32), "KEYBOX_SECRET_KEY=" + strings.Repeat("s", 32),
				"KEYBOX_DB_MAX_CONNS=" + strconv.Itoa(storetest.PostgresPool)}
			// An address where nothing listens yet.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			endpoint := ln.Addr().String()
			ln.Close()

			cmd, base, logs := startBinary(t, bin, env...)
			if status, body := post(t, base+"/auth/signup", "", signupBody); status != 201 {
				t.Fatalf("signup: %d %v", status, body)
			}
			_, login := post(t, base+"/auth/login", "", loginBody)
			token := login["token"].(string)
			status, created := request(t, "POST", base+"/webhooks", token, map[string]any{
				"url": "http://" + endpoint + "/hook", "events": []string{"client.created"}})
			if status != 201 {
				t.Fatalf("create webhook: %d %v", status, created)
			}
			hook, secret := created["webhook"].(map[string]any)["_id"].(string), created["secret"].(string)
			status, client := request(t, "POST", base+"/clients", token, map[string]any{"name": "Acme", "email": "acme@example.com"})
			if status != 201 {
				t.Fatalf("create client: %d %v", status, client)
			}
			// The first attempt fails (nothing listens); then the server dies.
			deadline := time.Now().Add(30 * time.Second)
			for {
				_, list := request(t, "GET", base+"/webhooks/"+hook+"/deliveries", token, nil)
				if ds, _ := list["deliveries"].([]any); len(ds) == 1 && ds[0].(map[string]any)["attempts"].(float64) >= 1 {
					if ds[0].(map[string]any)["status"] != "pending" {
						t.Fatalf("after a refused attempt: %v", ds[0])
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no attempt recorded; log:\n%s", logs.text())
				}
				time.Sleep(50 * time.Millisecond)
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()

			arrived := make(chan []byte, 10)
			wh, err := standardwebhooks.NewWebhook(secret)
			if err != nil {
				t.Fatal(err)
			}
			rln, err := net.Listen("tcp", endpoint)
			if err != nil {
				t.Fatalf("the endpoint's address was taken meanwhile: %v", err)
			}
			receiver := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if err := wh.Verify(body, r.Header); err != nil {
					t.Errorf("a delivery that does not verify: %v", err)
				}
				arrived <- body
				w.WriteHeader(http.StatusOK)
			})}
			go func() { _ = receiver.Serve(rln) }()
			defer receiver.Close()

			_, _, logs = startBinary(t, bin, env...)
			select {
			case body := <-arrived:
				var ev map[string]any
				if err := json.Unmarshal(body, &ev); err != nil || ev["type"] != "client.created" ||
					ev["subject"].(map[string]any)["id"] != client["client"].(map[string]any)["_id"] {
					t.Fatalf("delivered %s", body)
				}
			case <-time.After(60 * time.Second):
				t.Fatalf("the event was not delivered after the restart; log:\n%s", logs.text())
			}
		})
	}
}

// TestConfigEventsAndWebhooks: the retention takes days, a duration or
// forever (365 days by default); private webhook addresses are refused
// unless turned on; a bad value is one line naming its variable.
func TestConfigEventsAndWebhooks(t *testing.T) {
	for _, tc := range []struct {
		env       map[string]string
		retention time.Duration
		private   bool
	}{
		{map[string]string{}, 365 * 24 * time.Hour, false},
		{map[string]string{"KEYBOX_EVENT_RETENTION": "30d", "KEYBOX_WEBHOOK_ALLOW_PRIVATE": "true"}, 30 * 24 * time.Hour, true},
		{map[string]string{"KEYBOX_EVENT_RETENTION": "720h"}, 720 * time.Hour, false},
		{map[string]string{"KEYBOX_EVENT_RETENTION": "forever"}, -1, false},
	} {
		c, err := loadConfig("serve", nil, envFunc(tc.env))
		if err != nil || c.eventRetention != tc.retention || c.webhookPrivate != tc.private {
			t.Errorf("%v: retention %v, private %v, %v; want %v, %v", tc.env, c.eventRetention, c.webhookPrivate, err, tc.retention, tc.private)
		}
	}
	for env, want := range map[string]string{
		"KEYBOX_EVENT_RETENTION=0d":           "KEYBOX_EVENT_RETENTION: \"0d\" is not a number of days",
		"KEYBOX_EVENT_RETENTION=-5h":          "KEYBOX_EVENT_RETENTION: \"-5h\"",
		"KEYBOX_EVENT_RETENTION=a year":       "KEYBOX_EVENT_RETENTION: \"a year\"",
		"KEYBOX_WEBHOOK_ALLOW_PRIVATE=please": "KEYBOX_WEBHOOK_ALLOW_PRIVATE: \"please\" must be true or false",
	} {
		k, v, _ := strings.Cut(env, "=")
		_, err := loadConfig("serve", nil, envFunc(map[string]string{k: v}))
		if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Count(err.Error(), "\n") != 0 {
			t.Errorf("%s: got %v, want one line starting %q", env, err, want)
		}
	}
}
