package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/keyboxhq/keybox/internal/signin/signintest"
)

// pageClock makes the page's Date.now() movable, before any of its
// scripts runs: the dashboard judges its session by Date.now(), so a test
// moves time forward instead of waiting for it.
func (b *tab) pageClock() {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `(() => {
		const real = Date.now.bind(Date);
		let offset = Number(sessionStorage.getItem("test.offset") || 0);
		Date.now = () => real() + offset;
		window.testAdvance = (ms) => { offset += ms; sessionStorage.setItem("test.offset", String(offset)); };
	})()`})
	if err != nil {
		b.t.Fatal(err)
	}
}

// advance moves the page's clock and the server's together.
func (b *tab) advance(e *env, d time.Duration) {
	b.t.Helper()
	e.clock.Add(d)
	b.do("advance", chromedp.Evaluate[chromedp.Void](fmt.Sprintf("testAdvance(%d)", d.Milliseconds())))
}

// login logs in through the API, as a script would, and returns a token.
func (e *env) login(email string) string {
	e.t.Helper()
	st, r := e.call("POST", "/auth/login", "", map[string]string{"email": email, "password": password})
	if st != 200 {
		e.t.Fatalf("login %s: %d %v", email, st, r)
	}
	return r["token"].(string)
}

func (b *tab) token() string {
	b.t.Helper()
	return eval[string](b, `JSON.parse(localStorage.getItem("keybox.session") || "{}").token ?? ""`)
}

// TestSessionKeptAlive: a person who works is never logged out: the token
// is renewed once less than a third of its life is left. One who has gone
// is warned before the session ends, and can stay; and when it ends, a form
// they were filling in is kept and comes back once they log in again.
func TestSessionKeptAlive(t *testing.T) {
	e := newEnv(t)
	e.developer("Ada", "ada@example.com")
	b := newTab(t)
	b.pageClock()
	b.login(e, "ada@example.com")
	b.open(e, "#/clients", "Clients")
	first := b.token()

	// 21 of 30 minutes later, the person does something: a fresh token.
	b.advance(e, 21*time.Minute)
	mark := b.mark()
	b.do("press a key", chromedp.KeyEvent(kb.Tab))
	b.waitFor("a renewed token", `(old) => (JSON.parse(localStorage.getItem("keybox.session")).token) !== old`, first)
	if n := b.countRequests(mark, "/auth/refresh"); n != 1 {
		t.Errorf("%d refresh requests, want 1", n)
	}
	if st, _ := e.call("GET", "/auth/me", b.token(), nil); st != 200 {
		t.Fatalf("the renewed token: %d", st)
	}
	// Nothing was re-rendered for it: the search box keeps what was typed.
	b.fill("#client-search", "acm")
	b.advance(e, 22*time.Minute) // the first token has expired; the renewed one has 8 minutes left
	b.do("press a key", chromedp.KeyEvent("e"))
	b.waitFor("a second renewal", `() => (JSON.parse(localStorage.getItem("keybox.session")).expiresAt - Date.now()) > 25 * 60 * 1000`)
	if got := eval[string](b, `document.querySelector("#client-search").value`); got != "acme" {
		t.Errorf("the search box holds %q after renewals, want acme", got)
	}

	// Then nothing, until shortly before the end: a warning, and Stay.
	b.advance(e, 28*time.Minute+30*time.Second)
	b.waitText(`dialog[role="alertdialog"] h2`, "Are you still there?")
	b.accessible("session warning")
	b.shot("session-warning")
	if got := eval[string](b, `document.activeElement?.textContent ?? ""`); got != "Stay signed in" {
		t.Errorf("the warning opens with %q focused, want Stay signed in", got)
	}
	before := b.token()
	b.clickButton("dialog", "Stay signed in")
	b.waitGone("dialog")
	b.waitFor("a renewed token", `(old) => JSON.parse(localStorage.getItem("keybox.session")).token !== old`, before)
	if got := b.text("h1"); got != "Clients" {
		t.Errorf("after Stay the page is %q", got)
	}

	// A form typed into, and the session ends: the form is kept.
	b.click(`button[data-focus="new-client"]`)
	b.fill(`dialog input[name="name"]`, "Initech")
	b.fill(`dialog input[name="email"]`, "initech@example.com")
	b.advance(e, 31*time.Minute)
	b.waitText("h1", "Log in")
	b.waitText("main", "what you typed in “New client” is kept")
	b.shot("session-ended-form-kept")
	b.fill(`input[name="email"]`, "ada@example.com")
	b.fill(`input[name="password"]`, password)
	b.clickButton("form", "Log in")
	b.waitText("dialog h2", "New client")
	if got := eval[string](b, `document.querySelector('dialog input[name="name"]').value`); got != "Initech" {
		t.Errorf("the kept form holds %q, want Initech", got)
	}
	b.waitText("dialog", "What you typed was kept")
	b.click(`dialog button[type="submit"]`)
	b.waitGone("dialog")
	b.waitText(".toasts", "Client “Initech” created.")
	if _, list := e.call("GET", "/clients?q=initech", e.login("ada@example.com"), nil); list["total"] != 1.0 {
		t.Errorf("the kept form's client: %v", list)
	}

	// Someone else logging in after the end never sees another's form.
	b.click(`button[data-focus="new-client"]`)
	b.fill(`dialog input[name="name"]`, "Secret Co")
	b.advance(e, 31*time.Minute)
	b.waitText("h1", "Log in")
	e.developer("Bob", "bob@example.com")
	b.fill(`input[name="email"]`, "bob@example.com")
	b.fill(`input[name="password"]`, password)
	b.clickButton("form", "Log in")
	b.waitText("h1", "Clients")
	if n := eval[int](b, `document.querySelectorAll("dialog").length`); n != 0 || strings.Contains(b.text("body"), "Secret Co") {
		t.Errorf("Bob is shown Ada's kept form")
	}
}

// TestAccountPage: one's name and password, and logging out everywhere.
func TestAccountPage(t *testing.T) {
	e := newEnv(t)
	e.developer("Ada", "ada@example.com")
	b := newTab(t)
	b.login(e, "ada@example.com")
	b.click("#who")
	b.waitText("h1", "Your account")
	b.accessible("account")
	b.fill(`input[name="name"]`, "Ada Lovelace")
	b.clickButton("main", "Save")
	b.waitText("#who", "Ada Lovelace")

	// The password: all its problems at once, then the server's word on the
	// current one, then a change that ends the other sessions.
	b.clickButton("main", "Change password")
	b.waitText(`[data-field="currentPassword"] .field-error`, "Current password is required.")
	b.waitText(`[data-field="password"] .field-error`, "New password is required.")
	other := e.login("ada@example.com")
	b.fill(`input[name="currentPassword"]`, "not it at all")
	b.fill(`input[name="password"]`, "a new password")
	b.fill(`input[name="confirm_password"]`, "a new password")
	b.clickButton("main", "Change password")
	b.waitText(`[data-field="currentPassword"] .field-error`, "Current password is incorrect")
	b.fill(`input[name="currentPassword"]`, password)
	b.clickButton("main", "Change password")
	b.waitText(".toasts", "Password saved")
	if st, _ := e.call("GET", "/auth/me", other, nil); st != 401 {
		t.Errorf("another session after the password change: %d, want 401", st)
	}
	b.open(e, "#/clients", "Clients") // this one carries on
	b.click("#who")
	b.waitText("h1", "Your account")
	b.clickButton("main", "Log out everywhere")
	b.clickButton("dialog", "Log out everywhere")
	b.waitText("h1", "Log in")
	b.waitText("main", "You have logged out everywhere.")
}

// TestAccountWithoutPassword: an account made through a provider sets its
// first password without a current one.
func TestAccountWithoutPassword(t *testing.T) {
	e, _, idp := newSignInEnv(t)
	idp.SignInAs(signintest.User{Subject: "kc-ada", Email: "ada@example.com", EmailVerified: true, Name: "Ada"})
	b := newTab(t)
	b.navigate(e.url + "/app/")
	b.clickButton(".providers", "Sign in with Acme SSO")
	b.waitThroughNavigations("signed in", `document.querySelector("h1")?.textContent === "Overview"`)
	b.open(e, "#/account", "Your account")
	b.waitText("main h2", "Set a password")
	if n := eval[int](b, `document.querySelectorAll('input[name="currentPassword"]').length`); n != 0 {
		t.Fatalf("an account without a password is asked for its current one")
	}
	b.fill(`input[name="password"]`, "a first password")
	b.fill(`input[name="confirm_password"]`, "a first password")
	b.clickButton("main", "Set password")
	b.waitText("main h2", "Change your password")
	if st, r := e.call("POST", "/auth/login", "", map[string]string{"email": "ada@example.com", "password": "a first password"}); st != 200 {
		t.Fatalf("login with the password set: %d %v", st, r)
	}
}

// TestUsersAdministration: an ADMIN lists the accounts, changes a role and
// deletes an account with what it owns; a DEVELOPER is not offered the page
// and is refused it.
func TestUsersAdministration(t *testing.T) {
	e := newEnv(t)
	e.developer("Ada", "ada@example.com")
	bob := e.developer("Bob", "bob@example.com")
	e.developer("Cy", "cy@example.com")
	e.call("POST", "/clients", bob, map[string]string{"name": "Bob's client", "email": "bc@example.com"})

	dev := newTab(t)
	dev.login(e, "bob@example.com")
	if n := eval[int](dev, `document.querySelectorAll('#nav a[data-nav="users"]').length`); n != 0 {
		t.Errorf("a DEVELOPER is offered the users page")
	}
	dev.open(e, "#/users", "Users")
	dev.waitText("main", "Only an administrator")

	b := newTab(t)
	b.login(e, "ada@example.com")
	b.click(`#nav a[data-nav="users"]`)
	b.waitText("h1", "Users")
	b.waitText("table", "bob@example.com")
	b.accessible("users")
	b.shot("users")
	b.do("make Cy an ADMIN", chromedp.SetValue(chromedp.CSS(`select[aria-label="Role of Cy"]`), "ADMIN"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('select[aria-label="Role of Cy"]').dispatchEvent(new Event("change"))`))
	b.waitText(".toasts", "Cy is now an administrator")
	_, users := e.call("GET", "/auth/users", e.login("ada@example.com"), nil)
	roles := map[string]any{}
	for _, u := range users["users"].([]any) {
		m := u.(map[string]any)
		roles[m["name"].(string)] = m["role"]
	}
	if roles["Cy"] != "ADMIN" {
		t.Errorf("roles after the change: %v", roles)
	}
	b.click(`button[aria-label="Delete Bob"]`)
	b.clickButton("dialog", "Delete account")
	b.waitText("dialog h2", "This account has clients")
	b.clickButton("dialog", "Delete the account and all it owns")
	b.waitText(".toasts", "The account of Bob is deleted.")
	// The list is drawn again after the deletion: between the old table and
	// the new one there may be none, which is not yet the answer.
	b.waitFor("Bob gone", `() => { const t = document.querySelector("table"); return t !== null && !t.textContent.includes("bob@example.com") }`)
	if st, _ := e.call("POST", "/auth/login", "", map[string]string{"email": "bob@example.com", "password": password}); st != 401 {
		t.Errorf("the deleted account logs in: %d", st)
	}
	if n := eval[int](b, `document.querySelectorAll('button[aria-label="Delete Ada"], select[aria-label="Role of Ada"]').length`); n != 0 {
		t.Errorf("the ADMIN is offered to delete or demote their own account here")
	}
}
