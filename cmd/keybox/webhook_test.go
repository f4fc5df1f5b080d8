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
