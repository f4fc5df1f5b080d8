package server_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/keyboxhq/keybox/internal/storetest"
)

// noRedirects shows a redirect as it is answered.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func (e *env) raw(method, path string, header map[string]string) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, string(b)
}

// TestRootSendsBrowsersToTheDashboard: a browser's navigation to / goes to
// /app/; API clients keep the JSON status answer.
func TestRootSendsBrowsersToTheDashboard(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	tests := []struct {
		name, accept string
		redirect     bool
	}{
		{"no Accept (curl without -H)", "", false},
		{"curl", "*/*", false},
		{"an SDK", "application/json", false},
		{"Chromium", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8", true},
		{"Firefox", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", true},
		{"upper case", "TEXT/HTML", true},
		{"HTML refused", "text/html;q=0, application/json", false},
		{"HTML last", "application/json, text/html;q=0.1", true},
		{"garbage", "text/html;;;=", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{}
			if tt.accept != "" {
				h["Accept"] = tt.accept
			}
			resp, body := e.raw("GET", "/", h)
			if got := resp.Header.Get("Vary"); got != "Accept" {
				t.Errorf("got Vary %q, want Accept", got)
			}
			if tt.redirect {
				if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/app/" {
					t.Fatalf("got %d to %q, want 302 to /app/", resp.StatusCode, resp.Header.Get("Location"))
				}
				return
			}
			if resp.StatusCode != 200 || !strings.Contains(body, `"message":"Server running"`) {
				t.Fatalf("got %d %s, want 200 with Server running", resp.StatusCode, body)
			}
		})
	}
}

// TestDashboardRoutes: /app redirects to /app/, which serves the page under
// the server's security headers, with a policy that keeps scripts and styles
// to the server's own files.
func TestDashboardRoutes(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))

	resp, _ := e.raw("GET", "/app", nil)
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/app/" {
		t.Errorf("GET /app: got %d to %q, want 301 to /app/", resp.StatusCode, resp.Header.Get("Location"))
	}

	resp, body := e.raw("GET", "/app/", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "<main") {
		t.Fatalf("GET /app/: got %d %s %.100q, want the page", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "script-src-attr 'none'", "style-src 'self'", "object-src 'none'", "frame-ancestors 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("the dashboard's CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("the dashboard's CSP allows unsafe sources: %q", csp)
	}
	// Over plain HTTP on a LAN address, upgrade-insecure-requests makes the
	// page fetch its own scripts over HTTPS (internal/web's TestLANAddress).
	if strings.Contains(csp, "upgrade-insecure-requests") {
		t.Errorf("the dashboard's CSP %q upgrades its own requests", csp)
	}
	if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
	}

	// The API keeps helmet's policy as it was.
	resp, _ = e.raw("GET", "/healthz", nil)
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "upgrade-insecure-requests") {
		t.Errorf("the API's CSP changed: %q", csp)
	}

	// The page's assets exist; anything else under /app/ is the API's 404.
	src := regexpFind(body, `src="(/app/assets/[^"]+)"`)
	if resp, _ := e.raw("GET", src, nil); resp.StatusCode != 200 {
		t.Errorf("GET %s: got %d, want 200", src, resp.StatusCode)
	}
	e.do("GET", "/app/nothing-here", "", nil).want(t, 404, "Not found")
	e.do("POST", "/app/", "", nil).want(t, 405, "Method not allowed")
}

func regexpFind(s, expr string) string {
	m := regexp.MustCompile(expr).FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	return m[1]
}
