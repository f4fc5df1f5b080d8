package web_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestAPITokensPage: a developer makes an API token in the dashboard, sees
// its secret once (and nowhere else: not in the list, the browser's
// storage or an address), sees when a script last used it, and revokes it;
// the script is refused from then on. The page fits a phone.
func TestAPITokensPage(t *testing.T) {
	e := newEnv(t)
	e.developer("Ada", "ada@example.com")
	b := newTab(t)
	b.login(e, "ada@example.com")
	b.open(e, "#/tokens", "API tokens")
	b.waitText("main", "No API tokens")

	b.click(`button[data-focus="new-token"]`)
	b.waitText("dialog h2", "New API token")
	b.click(`dialog button[type="submit"]`) // no name: refused, named
	b.waitText(`dialog .field[data-field="name"] .field-error`, "Is required")
	b.fill(`dialog input[name="name"]`, "billing")
	b.do("choose write", chromedp.SetValue(chromedp.CSS(`dialog select[name="scope"]`), "write"))
	b.do("choose 90 days", chromedp.SetValue(chromedp.CSS(`dialog select[name="expiresAt"]`), "90"))
	b.click(`dialog button[type="submit"]`)
	b.waitText("dialog h2", "Copy your new token now")
	secret := b.text("dialog [data-secret]")
	if !regexp.MustCompile(`^kbx_[a-z2-7]{48}$`).MatchString(secret) {
		t.Fatalf("the dialog shows %q, want the token's secret", secret)
	}
	b.shot("token-secret")
	b.clickButton("dialog", "Done")
	b.waitGone("dialog")
	b.waitText("main table", "billing")
	b.waitText("main table", "write")
	b.waitText("main table", secret[:12]+"…")
	b.waitFor("never used", `() => [...document.querySelectorAll("main td")].some((td) => td.dataset.label === "Last used" && td.textContent === "Never")`)

	// A script uses it; the page shows when.
	if st, body := e.call("GET", "/clients", secret, nil); st != 200 {
		t.Fatalf("the script's call: %d %v", st, body)
	}
	b.open(e, "#/", "Overview")
	b.open(e, "#/tokens", "API tokens")
	b.waitFor("used", `() => [...document.querySelectorAll("main td")].some((td) => td.dataset.label === "Last used" && td.querySelector("time"))`)
	if strings.Contains(b.text("body"), secret[12:]) || strings.Contains(b.storage(), secret[4:]) {
		t.Fatal("the secret is shown again, or kept in the browser")
	}
	for _, r := range b.requestsSent() {
		if strings.Contains(r.url, secret[4:]) {
			t.Fatalf("the secret went into an address: %s", r.url)
		}
	}

	b.viewport(phoneWidth, phoneHeight, true)
	b.noOverflow("#/tokens")
	b.shot("phone-tokens")
	b.viewport(desktopWidth, desktopHeight, false)

	b.clickButton("main table", "Revoke")
	b.waitText("dialog h2", "Revoke this token?")
	b.clickButton("dialog", "Revoke token")
	b.waitText(".toasts", "revoked")
	b.waitText("main", "No API tokens")
	if st, body := e.call("GET", "/clients", secret, nil); st != 401 {
		t.Fatalf("the revoked token: %d %v, want 401", st, body)
	}
}
