package web_test

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// These tests drive a real Chromium against the real server. Run them with
//
//	go test -artifacts -outputdir /tmp/shots ./internal/web/...
//
// to keep the screenshots each one takes.

var keyPattern = regexp.MustCompile(`^KB(-[0-9A-Z]{5}){4}$`)

// login logs in through the dashboard's form.
func (b *tab) login(e *env, email string) {
	b.t.Helper()
	b.navigate(e.url + "/app/#/login")
	b.waitText("h1", "Log in")
	b.fill(`input[name="email"]`, email)
	b.fill(`input[name="password"]`, password)
	b.clickButton("form", "Log in")
	b.waitFor("logged in", `() => !document.getElementById("account").hidden && document.querySelector("h1")?.textContent !== "Log in"`)
}

// open shows a view by its hash and waits for its heading.
func (b *tab) open(e *env, hash, heading string) {
	b.t.Helper()
	b.navigate(e.url + "/app/" + hash)
	b.waitText("h1", heading)
}

// badgeIs waits for the license page to show status.
func (b *tab) badgeIs(status string) {
	b.t.Helper()
	b.waitFor("status "+status, `(s) => document.querySelector(".license-title .badge")?.textContent === s`, status)
}

func (e *env) validate(key, machine string) map[string]any {
	e.t.Helper()
	st, body := e.call("POST", "/validate", "", map[string]string{"key": key, "machineId": machine})
	if st != 200 {
		e.t.Fatalf("validate: got %d %v, want 200", st, body)
	}
	return body
}

// TestJourney is a developer's first session, from sign-up to a revoked and
// restored key, with the key activated and validated by a shipped
// application (this test, through the public API) along the way.
func TestJourney(t *testing.T) {
	e := newEnv(t)
	b := newTab(t)

	// A browser asking for / lands on the dashboard, logged out: a fresh
	// installation, where nobody can log in yet, opens on sign-up.
	b.navigate(e.url + "/")
	b.waitText("h1", "Welcome to KeyBox")
	if got := eval[string](b, "location.pathname"); got != "/app/" {
		t.Fatalf("a browser opening / is at %q, want /app/", got)
	}
	if got := eval[string](b, "location.hash"); got != "#/signup" {
		t.Fatalf("a fresh installation opens at %q, want #/signup", got)
	}
	b.shot("first-run")

	// Sign up; the dashboard logs the new account in.
	b.fill(`input[name="name"]`, "Ada Lovelace")
	b.fill(`input[name="email"]`, "ada@example.com")
	b.fill(`input[name="password"]`, password)
	b.fill(`input[name="confirm_password"]`, "something else")
	b.clickButton("form", "Create account")
	b.waitText(`[data-field="confirm_password"] .field-error`, "Passwords do not match.")
	b.shot("signup-error")
	b.fill(`input[name="confirm_password"]`, password)
	b.clickButton("form", "Create account")
	b.waitText("h1", "Overview")
	b.waitText("#who", "Ada Lovelace")
	b.waitText(".stat-total .stat-value", "0")
	b.shot("overview-empty")
	token := eval[string](b, `JSON.parse(localStorage.getItem("keybox.session")).token`)

	// A client, first with an address the API refuses: its words show next
	// to the field.
	b.click(`#nav a[data-nav="clients"]`)
	b.waitText("h1", "Clients")
	b.waitText(".results", "No clients yet")
	b.click(`button[data-focus="new-client"]`)
	b.fill(`dialog input[name="name"]`, "Acme Corp")
	b.fill(`dialog input[name="email"]`, "billing at acme")
	b.click(`dialog button[type="submit"]`)
	b.waitText(`dialog [data-field="email"] .field-error`, "Must be a valid email address.")
	if got := eval[string](b, `document.querySelector('dialog input[name="email"]').getAttribute("aria-invalid")`); got != "true" {
		t.Errorf("the refused email field has aria-invalid=%q, want true", got)
	}
	b.shot("client-validation")
	b.fill(`dialog input[name="email"]`, "billing@acme.example")
	b.click(`dialog button[type="submit"]`)
	b.waitGone("dialog")
	b.waitText(".results td", "Acme Corp")
	b.shot("clients")

	// The client's page: a project with its first license.
	b.clickButton(".results", "Acme Corp")
	b.waitText("h1", "Acme Corp")
	b.waitText(".tree-wrap", "No projects yet")
	b.click(`button[data-focus="new-project"]`)
	b.fill(`dialog input[name="projectName"]`, "Website")
	b.do("choose 6 months", chromedp.SetValue(chromedp.CSS(`dialog select[name="duration"]`), "6"))
	b.shot("new-project")
	b.click(`dialog button[type="submit"]`)
	b.waitGone("dialog")
	b.waitText(".tree h3", "Website")
	key := b.text(".tree a.key")
	if !keyPattern.MatchString(key) {
		t.Fatalf("the tree shows key %q, want the KB-XXXXX-… form", key)
	}
	b.waitText(".tree .badge", "PENDING")
	b.shot("client-tree")

	// Copy the key: the clipboard holds it.
	b.click(fmt.Sprintf(`.tree button[data-copy=%q]`, key))
	b.waitText(".toasts", "Key copied")
	if got := eval[string](b, "navigator.clipboard.readText()"); got != key {
		t.Fatalf("the clipboard holds %q after Copy, want %q", got, key)
	}

	// The shipped application activates the key through the public API.
	st, res := e.call("POST", "/validate/activate", "", map[string]string{"key": key, "machineId": "ada-laptop", "productName": "Website"})
	if st != 200 || res["success"] != true {
		t.Fatalf("activate: got %d %v, want 200 success", st, res)
	}
	for range 3 {
		if v := e.validate(key, "ada-laptop"); v["valid"] != true {
			t.Fatalf("validate: got %v, want valid", v)
		}
	}

	// The license page: ACTIVE, with its activation.
	b.click(".tree a.key")
	b.waitText(".license-title h1", key)
	b.badgeIs("ACTIVE")
	b.waitText("table td", "ada-laptop")
	b.waitText(".facts", "1 of 1")
	b.shot("license-active")

	// Revoke it: the application is refused.
	b.clickButton("", "Revoke")
	b.waitText("dialog", "Revoke this license?")
	b.shot("revoke-confirm")
	b.clickButton("dialog", "Revoke license")
	b.badgeIs("REVOKED")
	if v := e.validate(key, "ada-laptop"); v["status"] != "revoked" || v["valid"] != false {
		t.Fatalf("validate after Revoke: got %v, want status revoked", v)
	}
	b.shot("license-revoked")

	// Restore it: the application is accepted again.
	b.clickButton("", "Restore")
	b.badgeIs("ACTIVE")
	if v := e.validate(key, "ada-laptop"); v["valid"] != true || v["status"] != "active" {
		t.Fatalf("validate after Restore: got %v, want valid and active", v)
	}

	// Seats: 0 is refused in words, 3 is taken.
	b.clickButton("", "Change seats")
	b.fill(`dialog input[name="maxMachines"]`, "0")
	b.click(`dialog button[type="submit"]`)
	b.waitText(`dialog [data-field="maxMachines"] .field-error`, "from 1 to 1000")
	b.shot("seats-error")
	b.fill(`dialog input[name="maxMachines"]`, "3")
	b.click(`dialog button[type="submit"]`)
	b.waitGone("dialog")
	b.waitText(".facts", "1 of 3")

	// Renew by a year: six months sold, then twelve more.
	b.clickButton("", "Renew")
	b.do("choose 12 months", chromedp.SetValue(chromedp.CSS(`dialog select[name="duration"]`), "12"))
	b.click(`dialog button[type="submit"]`)
	b.waitGone("dialog")
	b.waitText(".toasts", "License renewed until")
	b.waitText(".facts", "18 months")
	if _, got := e.call("GET", "/license/"+key, token, nil); got["license"].(map[string]any)["duration"] != 18.0 {
		t.Errorf("after Renew the API shows duration %v, want 18", got["license"].(map[string]any)["duration"])
	}

	// Free the seat: the laptop no longer holds it.
	b.clickButton("table", "Free this seat")
	b.waitText("dialog", "ada-laptop")
	b.clickButton("dialog", "Free this seat")
	b.waitText("main", "No machine has activated this license yet.")
	if v := e.validate(key, "ada-laptop"); v["status"] != "machine_mismatch" {
		t.Fatalf("validate after Free this seat: got %v, want machine_mismatch", v)
	}
	b.shot("license-seat-freed")

	// The licenses table, with its filters.
	b.click(`#nav a[data-nav="licenses"]`)
	b.waitText("h1", "Licenses")
	b.waitText(".results a.key", key)
	b.waitText(".results", "Acme Corp")
	b.waitText(".results", "Website")
	b.do("filter revoked", chromedp.SetValue(chromedp.CSS(`select[name="status"]`), "REVOKED"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('select[name="status"]').dispatchEvent(new Event("change"))`))
	b.waitText(".results", "No license matches these filters.")
	if got := eval[string](b, "location.hash"); got != "#/licenses?status=REVOKED" {
		t.Errorf("the filtered table is at %q, want #/licenses?status=REVOKED", got)
	}
	b.do("filter active", chromedp.SetValue(chromedp.CSS(`select[name="status"]`), "ACTIVE"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('select[name="status"]').dispatchEvent(new Event("change"))`))
	b.waitText(".results a.key", key)
	b.shot("licenses")

	// The overview counts it and charts today's validations.
	b.click(`#nav a[data-nav=""]`)
	b.waitText("h1", "Overview")
	b.waitText(".stat-ACTIVE .stat-value", "1")
	bars := eval[[]int](b, `[...document.querySelectorAll(".chart rect.bar")].map((r) => Number(r.dataset.count))`)
	if len(bars) != 30 || bars[29] < 4 {
		t.Errorf("chart bars %v: want 30 days, today with at least 4 validations", bars)
	}
	b.shot("overview")

	// A reload keeps the session.
	b.do("reload", chromedp.Reload())
	b.waitText("h1", "Overview")
	b.waitText("#who", "Ada Lovelace")

	// Delete the client: it has projects, so a second, explicit confirmation.
	b.click(`#nav a[data-nav="clients"]`)
	b.waitText(".results td", "Acme Corp")
	b.click(`button[aria-label="Delete Acme Corp"]`)
	b.clickButton("dialog", "Delete client")
	b.waitText("dialog h2", "This client has projects")
	b.shot("delete-cascade")
	b.clickButton("dialog", "Delete client and all its projects")
	b.waitText(".results", "No clients yet")
	if st, _ := e.call("GET", "/license/"+key, token, nil); st != 404 {
		t.Errorf("the license of the deleted client: got %d, want 404", st)
	}

	// Log out: nothing of the session stays in the browser.
	b.click("#logout")
	b.waitText("h1", "Log in")
	b.waitText("main", "You have logged out.")
	if s := b.storage(); strings.Contains(s, token) {
		t.Errorf("after logging out, localStorage still holds the token: %s", s)
	}
	if len(b.dialogsOpened()) > 0 {
		t.Errorf("JavaScript dialogs opened: %v", b.dialogsOpened())
	}

	// The token went only in Authorization headers, never in a URL.
	withToken := 0
	for _, r := range b.requestsSent() {
		if strings.Contains(r.url, token) {
			t.Errorf("a request carried the token in its URL: %s", r.url)
		}
		if r.authorization == "Bearer "+token {
			withToken++
		}
	}
	if withToken < 10 {
		t.Errorf("%d requests carried the token as a Bearer header, want the API calls of the whole session", withToken)
	}
}

// TestUserTextIsText: names and machine ids that look like HTML show as
// text, and nothing in them runs. Under the server's CSP an injected
// handler would not run anyway, so the test also checks that no element was
// made from them.
func TestUserTextIsText(t *testing.T) {
	e := newEnv(t)
	token := e.developer("Mallory", "mallory@example.com")
	const evil = `<img src=x onerror=alert(1)>`
	const evilProject = `<script>alert(2)</script>`
	const evilMachine = `<svg onload=alert(3)>`
	_, c := e.call("POST", "/clients", token, map[string]string{"name": evil, "email": "evil@example.com"})
	clientID := c["client"].(map[string]any)["_id"].(string)
	_, p := e.call("POST", "/projects/createProject", token, map[string]any{
		"clientId": clientID, "projectName": evilProject, "duration": 3, "services": []string{"Hosting"}})
	key := p["license"].(map[string]any)["key"].(string)
	if st, r := e.call("POST", "/validate/activate", "", map[string]string{"key": key, "machineId": evilMachine}); st != 200 {
		t.Fatalf("activate: got %d %v", st, r)
	}

	b := newTab(t)
	b.login(e, "mallory@example.com")
	injected := func(where string) {
		t.Helper()
		n := eval[int](b, `document.querySelectorAll("main img, main script, main [onerror], main [onload], dialog img, .toasts img").length`)
		if n != 0 {
			t.Errorf("%s: %d elements were made from user text", where, n)
		}
	}
	pages := []struct{ hash, heading, sel, text string }{
		{"#/clients", "Clients", ".results td", evil},
		{"#/clients/" + clientID, evil, ".tree h3", evilProject},
		{"#/licenses", "Licenses", ".results td", evilProject},
		{"#/licenses/" + key, key, "table td", evilMachine},
	}
	for _, pg := range pages {
		b.open(e, pg.hash, pg.heading)
		b.waitText(pg.sel, pg.text)
		injected(pg.hash)
		b.shot("text-" + slug(pg.hash))
	}
	b.waitText(".crumbs", evil)

	// The edit dialog holds the name as a value, and the delete dialog and
	// its toast say it as text.
	b.open(e, "#/clients", "Clients")
	b.click(`.results button[aria-label^="Edit"]`)
	if got := eval[string](b, `document.querySelector('dialog input[name="name"]').value`); got != evil {
		t.Errorf("the edit dialog holds %q, want %q", got, evil)
	}
	b.do("close", chromedp.KeyEvent(kb.Escape))
	b.waitGone("dialog")
	b.click(`.results button[aria-label^="Delete"]`)
	b.waitText("dialog p", evil)
	injected("delete dialog")
	b.clickButton("dialog", "Delete client")
	b.clickButton("dialog", "Delete client and all its projects")
	b.waitText(".toasts", evil)
	injected("toast")
	b.shot("text-deleted")

	if d := b.dialogsOpened(); len(d) > 0 {
		t.Fatalf("JavaScript dialogs opened: %v", d)
	}
}

// TestSecondDeveloper: another developer's browser shows nothing of the
// first one's, neither through the lists nor by their ids and keys, and
// neither in a browser of its own nor in one the first developer logged
// out of.
func TestSecondDeveloper(t *testing.T) {
	e := newEnv(t)
	ada := e.developer("Ada", "ada@example.com")
	_, c := e.call("POST", "/clients", ada, map[string]string{"name": "Acme Secret Co", "email": "secret@acme.example"})
	clientID := c["client"].(map[string]any)["_id"].(string)
	_, p := e.call("POST", "/projects/createProject", ada, map[string]any{
		"clientId": clientID, "projectName": "Secret Project", "duration": 1, "services": []string{"Domain"}})
	key := p["license"].(map[string]any)["key"].(string)
	e.call("POST", "/validate/activate", "", map[string]string{"key": key, "machineId": "m1"})
	e.developer("Bob", "bob@example.com")

	seesNothing := func(b *tab) {
		t.Helper()
		b.waitText(".stat-total .stat-value", "0")
		b.open(e, "#/clients", "Clients")
		b.waitText(".results", "No clients yet")
		b.open(e, "#/licenses", "Licenses")
		b.waitText(".results", "No licenses yet")
		if got := b.options("main", "clientId", ""); fmt.Sprint(got) != "[Any client]" {
			t.Errorf("the client filter offers %v, want only \"Any client\"", got)
		}
		b.waitText(".combo-status", "You have no clients yet.")
		b.open(e, "#/clients/"+clientID, "Not available")
		b.waitText("main", "Client not found")
		b.open(e, "#/licenses/"+key, "Not available")
		b.waitText("main", "License not found")
		b.shot("not-found")
		for _, secret := range []string{"Acme Secret Co", "Secret Project", key, "m1"} {
			if strings.Contains(b.text("body"), secret) {
				t.Errorf("Bob's browser shows %q", secret)
			}
		}
	}

	bob := newTab(t)
	bob.login(e, "bob@example.com")
	seesNothing(bob)

	// The first developer's browser, after a logout.
	b := newTab(t)
	b.login(e, "ada@example.com")
	b.open(e, "#/licenses", "Licenses")
	b.waitText(".results", "Acme Secret Co")
	b.click("#logout")
	b.waitText("h1", "Log in")
	b.fill(`input[name="email"]`, "bob@example.com")
	b.fill(`input[name="password"]`, password)
	b.clickButton("form", "Log in")
	b.waitText("h1", "Overview")
	b.waitText("#who", "Bob")
	seesNothing(b)
}

// TestSession: a reload keeps the session; it ends when the server no
// longer takes the token, and when the browser's own deadline passes, and
// the next login returns to the page that was open.
func TestSession(t *testing.T) {
	e := newEnv(t)
	token := e.developer("Ada", "ada@example.com")
	_, c := e.call("POST", "/clients", token, map[string]string{"name": "Acme", "email": "acme@example.com"})
	clientID := c["client"].(map[string]any)["_id"].(string)

	b := newTab(t)
	b.login(e, "ada@example.com")
	b.open(e, "#/clients/"+clientID, "Acme")
	b.do("reload", chromedp.Reload())
	b.waitText("h1", "Acme")

	// The token expires on the server: the next request ends the session.
	e.clock.Add(31 * time.Minute)
	b.click(`#nav a[data-nav="clients"]`)
	b.waitText("h1", "Log in")
	b.waitText("main", "Your session has ended. Please log in again.")
	if s := b.storage(); strings.Contains(s, "token") {
		t.Errorf("after the session ended, localStorage holds %s", s)
	}
	b.shot("session-ended")
	b.fill(`input[name="email"]`, "ada@example.com")
	b.fill(`input[name="password"]`, password)
	b.clickButton("form", "Log in")
	b.waitText("h1", "Clients")

	// The browser ends the session at the token's deadline by itself: a
	// session whose deadline has passed is not used after a reload.
	b.do("age the session", chromedp.Evaluate[chromedp.Void](`(() => {
		const s = JSON.parse(localStorage.getItem("keybox.session"));
		s.expiresAt = Date.now() - 1000;
		localStorage.setItem("keybox.session", JSON.stringify(s));
	})()`))
	b.do("reload", chromedp.Reload())
	b.waitText("h1", "Log in")
	b.waitText("main", "Your session has ended.")

	// A second tab shares the session; logging out there logs this tab out.
	b.login(e, "ada@example.com")
	b.open(e, "#/clients", "Clients")
	ctx, cancel := chromedp.NewContext(b.ctx)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil { // opens the tab, for as long as ctx lives
		t.Fatal(err)
	}
	other := &tab{t: t, ctx: ctx}
	other.open(e, "#/clients/"+clientID, "Acme")
	other.click("#logout")
	other.waitText("h1", "Log in")
	b.waitText("h1", "Log in")
	b.waitText("main", "You have logged out.")
}

// TestKeyboard: the dashboard is usable without a mouse.
func TestKeyboard(t *testing.T) {
	e := newEnv(t)
	e.developer("Ada", "ada@example.com")
	b := newTab(t)
	b.navigate(e.url + "/app/")
	b.waitText("h1", "Log in")

	focused := func() string {
		return eval[string](b, `(() => { const a = document.activeElement; return a ? (a.name || a.dataset.focus || a.tagName.toLowerCase()) : ""; })()`)
	}
	// The heading has the focus after a view change; Tab reaches the form.
	b.do("tab", chromedp.KeyEvent(kb.Tab))
	if got := focused(); got != "email" {
		t.Fatalf("Tab from the login heading focuses %q, want the email field", got)
	}
	b.do("type", chromedp.KeyEvent("ada@example.com"+kb.Tab+password+kb.Enter))
	b.waitText("h1", "Overview")

	b.open(e, "#/clients", "Clients")
	b.do("focus", chromedp.Focus(chromedp.CSS(`button[data-focus="new-client"]`)), chromedp.KeyEvent(kb.Enter))
	b.waitText("dialog h2", "New client")
	if got := focused(); got != "name" {
		t.Fatalf("the new client dialog opens with %q focused, want the name field", got)
	}
	b.do("escape", chromedp.KeyEvent(kb.Escape))
	b.waitGone("dialog")
	if got := focused(); got != "new-client" {
		t.Fatalf("after Escape the focus is on %q, want the New client button", got)
	}
	b.do("reopen", chromedp.KeyEvent(kb.Enter))
	b.waitText("dialog h2", "New client")
	b.do("type", chromedp.KeyEvent("Acme"+kb.Tab+"acme@example.com"+kb.Enter))
	b.waitGone("dialog")
	b.waitText(".results td", "Acme")
	if got := focused(); got != "new-client" {
		t.Errorf("after creating a client the focus is on %q, want the New client button", got)
	}
	if v := eval[string](b, `getComputedStyle(document.activeElement).outlineStyle`); v == "none" {
		t.Errorf("the focused button shows no outline")
	}
}

// TestPhone: every view fits a 390-pixel-wide phone screen.
func TestPhone(t *testing.T) {
	e := newEnv(t)
	token := e.developer("Grace Brewster Murray Hopper", "grace.hopper@navy.example")
	_, c := e.call("POST", "/clients", token, map[string]string{
		"name": "Remington Rand Universal Automatic Computer Division", "email": "accounts.payable.department@remington-rand.example"})
	clientID := c["client"].(map[string]any)["_id"].(string)
	_, p := e.call("POST", "/projects/createProject", token, map[string]any{
		"clientId": clientID, "projectName": "FLOW-MATIC compiler", "duration": 12, "services": []string{"Hosting", "Domain"}})
	key := p["license"].(map[string]any)["key"].(string)
	e.call("POST", "/validate/activate", "", map[string]string{"key": key, "machineId": "univac-1-serial-0001-a5f3c9d2e8b7", "instanceId": "primary"})
	for range 5 {
		e.validate(key, "univac-1-serial-0001-a5f3c9d2e8b7")
	}
	e.call("POST", "/projects/createProject", token, map[string]any{
		"clientId": clientID, "projectName": "A-0 System", "duration": 1, "services": []string{"Domain"}})

	b := newTab(t)
	b.viewport(phoneWidth, phoneHeight, true)
	b.navigate(e.url + "/app/")
	b.waitText("h1", "Log in")
	b.noOverflow("login")
	b.shot("phone-login")
	b.login(e, "grace.hopper@navy.example")
	views := []struct{ hash, heading, ready string }{
		{"#/", "Overview", ".chart"},
		{"#/clients", "Clients", ".results table"},
		{"#/clients/" + clientID, "Remington", ".tree"},
		{"#/licenses", "Licenses", ".results table"},
		{"#/licenses/" + key, key, "table"},
		{"#/account", "Your account", "form"},
		{"#/users", "Users", "table"},
	}
	for _, v := range views {
		b.open(e, v.hash, v.heading)
		b.waitFor(v.ready, `(s) => document.querySelector(s) !== null`, v.ready)
		b.noOverflow(v.hash)
		b.shot("phone-" + slug(v.hash))
	}
	b.open(e, "#/licenses", "Licenses")
	b.click(`button[data-focus="new-license"]`)
	b.waitText("dialog h2", "New license")
	b.noOverflow("new license dialog")
	b.shot("phone-new-license")
	// The only client, and its newest project, are chosen already.
	b.waitFor("the newest project chosen", `() => document.querySelector('dialog [data-field="projectId"] input[role="combobox"]').value === "A-0 System"`)
	b.click(`dialog button[type="submit"]`)
	b.waitGone("dialog")
	b.waitText(".toasts", "created")
	// The toast comes first; the table is then fetched again.
	b.waitFor("the table to list 3 licenses", `(n) => document.querySelectorAll(".results a.key").length === n`, 3)
}

// TestLANAddress: served over plain HTTP on a non-loopback address (a
// server on an office network), the page still runs, and the copy button
// falls back to the selection (browsers give no Clipboard API there).
func TestLANAddress(t *testing.T) {
	ip := lanAddress()
	if ip == "" {
		t.Skip("this machine has no non-loopback IPv4 address")
	}
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Skipf("cannot listen on %s: %v", ip, err)
	}
	e := startEnv(t, ln)
	token := e.developer("Ada", "ada@example.com")
	_, c := e.call("POST", "/clients", token, map[string]string{"name": "Acme", "email": "acme@example.com"})
	_, p := e.call("POST", "/projects/createProject", token, map[string]any{
		"clientId": c["client"].(map[string]any)["_id"], "projectName": "Site", "duration": 1, "services": []string{"Hosting"}})
	key := p["license"].(map[string]any)["key"].(string)

	b := newTab(t)
	b.navigate(e.url + "/")
	b.waitText("h1", "Log in")
	b.login(e, "ada@example.com")
	b.open(e, "#/licenses/"+key, key)
	if eval[bool](b, "window.isSecureContext") {
		t.Skip("Chromium treats this address as secure; nothing to check")
	}
	b.click(fmt.Sprintf(`.license-title button[data-copy=%q]`, key))
	b.waitText(".toasts", "Key copied")
}

func lanAddress() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	return ""
}

// TestListsSearchAndPages: the clients list pages and searches; the licenses
// table filters by client and project.
func TestListsSearchAndPages(t *testing.T) {
	e := newEnv(t)
	token := e.developer("Ada", "ada@example.com")
	var acme, globex string
	for i := 1; i <= 25; i++ {
		_, c := e.call("POST", "/clients", token, map[string]string{"name": fmt.Sprintf("Client %02d", i), "email": fmt.Sprintf("c%02d@example.com", i)})
		id := c["client"].(map[string]any)["_id"].(string)
		switch i {
		case 1:
			acme = id
		case 2:
			globex = id
		}
	}
	project := func(client, name string) string {
		_, p := e.call("POST", "/projects/createProject", token, map[string]any{"clientId": client, "projectName": name, "duration": 1, "services": []string{"Hosting"}})
		return p["license"].(map[string]any)["key"].(string)
	}
	acmeSite, acmeApp, globexSite := project(acme, "Acme site"), project(acme, "Acme app"), project(globex, "Globex site")

	b := newTab(t)
	b.login(e, "ada@example.com")
	b.open(e, "#/clients", "Clients")
	b.waitText(".pager", "Showing 1–20 of 25")
	b.clickButton(".pager", "Next page")
	b.waitText(".pager", "Showing 21–25 of 25")
	b.waitText(".results td", "Client 01") // newest first: the first made is last
	if got := eval[string](b, "location.hash"); got != "#/clients?page=2" {
		t.Errorf("page 2 is at %q, want #/clients?page=2", got)
	}
	// Edit a client: an email another client has is refused next to the
	// field, a new name is taken.
	b.click(`.results button[aria-label="Edit Client 01"]`)
	b.fill(`dialog input[name="email"]`, "c02@example.com")
	b.click(`dialog button[type="submit"]`)
	b.waitText(`dialog [data-field="email"] .field-error`, "Client with this email already exists")
	b.shot("client-edit-conflict")
	b.fill(`dialog input[name="email"]`, "c01@example.com")
	b.fill(`dialog input[name="name"]`, "Acme Corporation")
	b.click(`dialog button[type="submit"]`)
	b.waitGone("dialog")
	b.waitText(".results td", "Acme Corporation")

	b.fill("#client-search", "c1")
	b.waitText(".pager", "Showing 1–10 of 10")
	b.fill("#client-search", "nobody")
	b.waitText(".results", "No client matches “nobody”.")
	b.shot("clients-search")

	keys := func() []string {
		return eval[[]string](b, `[...document.querySelectorAll(".results a.key")].map((a) => a.textContent).sort()`)
	}
	sameKeys := func(want ...string) {
		t.Helper()
		b.waitFor(fmt.Sprintf("%d keys", len(want)), `(n) => document.querySelectorAll(".results a.key").length === n`, len(want))
		got := keys()
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("the table shows %v, want %v", got, want)
		}
	}
	b.open(e, "#/licenses", "Licenses")
	sameKeys(acmeSite, acmeApp, globexSite)
	b.pick("main", "clientId", "Acme", "Acme Corporation")
	sameKeys(acmeSite, acmeApp)
	if got := eval[string](b, "location.hash"); got != "#/licenses?clientId="+acme {
		t.Errorf("filtered by client, the table is at %q", got)
	}
	if got := b.options("main", "projectId", ""); fmt.Sprint(got) != "[Any project Acme app Acme site]" {
		t.Errorf("the project filter offers %v, want Acme's projects", got)
	}
	b.pick("main", "projectId", "app", "Acme app")
	sameKeys(acmeApp)
	b.shot("licenses-filtered")
	// The filters are in the URL: a reload shows the same table.
	b.do("reload", chromedp.Reload())
	b.waitText("h1", "Licenses")
	sameKeys(acmeApp)
	if got := eval[string](b, `document.querySelector('[data-field="clientId"] input[role="combobox"]').value`); got != "Acme Corporation" {
		t.Errorf("after a reload the client filter shows %q", got)
	}
	b.pick("main", "clientId", "", "Any client")
	sameKeys(acmeSite, acmeApp, globexSite)
}

// labelled fails when a form control in scope has no label, or an id is
// used twice in the page: what a screen reader needs to name each field.
func (b *tab) labelled(scope string) {
	b.t.Helper()
	bad := eval[[]string](b, fmt.Sprintf(`(() => {
		const out = [];
		for (const c of document.querySelectorAll(%q)) {
			if (c.type === "hidden") continue;
			const named = (c.labels && c.labels.length > 0) || c.getAttribute("aria-label") || c.getAttribute("aria-labelledby");
			if (!named) out.push("no label: " + (c.name || c.id || c.outerHTML.slice(0, 60)));
		}
		const ids = [...document.querySelectorAll("[id]")].map((e) => e.id);
		for (const id of ids) if (ids.indexOf(id) !== ids.lastIndexOf(id)) out.push("duplicate id: " + id);
		return [...new Set(out)];
	})()`, scope+" input, "+scope+" select, "+scope+" textarea"))
	if len(bad) > 0 {
		b.t.Errorf("%s: %v", scope, bad)
	}
}

// TestPoliciesAndLeases: a project's policy shown and changed in its dialog,
// a new license that starts from it, and the license page's terms, seats in
// use and each seat's lease, a lapsed one shown as such by the server's
// clock; the license's own terms edited in their dialog.
func TestPoliciesAndLeases(t *testing.T) {
	e := newEnv(t)
	token := e.developer("Ada", "ada@example.com")
	_, c := e.call("POST", "/clients", token, map[string]string{"name": "Acme", "email": "acme@example.com"})
	clientID := c["client"].(map[string]any)["_id"].(string)
	_, p := e.call("POST", "/projects/createProject", token, map[string]any{
		"clientId": clientID, "projectName": "Website", "duration": 3, "services": []string{"Hosting"}})
	projectID := p["project"].(map[string]any)["_id"].(string)

	b := newTab(t)
	b.login(e, "ada@example.com")
	b.open(e, "#/clients/"+clientID, "Acme")
	b.click(`button[aria-label="Policy of Website"]`)
	b.waitText("dialog h2", "Policy of Website")
	b.waitText("dialog", "seats kept until freed")
	b.labelled("dialog")
	b.fill(`dialog input[name="leaseSeconds"]`, "30")
	b.fill(`dialog input[name="maxMachines"]`, "5")
	b.fill(`dialog input[name="entitlements"]`, "pro, export")
	b.click(`dialog input[name="requireMachineId"]`)
	b.click(`dialog button[type="submit"]`)
	b.waitText(`dialog [data-field="leaseSeconds"] .field-error`, "Must be 0 (no lease) or an integer from 60 to 31536000.")
	if got := eval[string](b, `document.querySelector('dialog input[name="leaseSeconds"]').getAttribute("aria-invalid")`); got != "true" {
		t.Errorf("the refused lease field has aria-invalid=%q, want true", got)
	}
	b.shot("policy-error")
	b.fill(`dialog input[name="leaseSeconds"]`, "120")
	b.click(`dialog button[type="submit"]`)
	b.waitGone("dialog")
	b.waitText(".toasts", "seats lapse after 2 minutes of silence")
	if _, got := e.call("GET", "/projects/"+projectID+"/policy", token, nil); fmt.Sprint(got["policy"]) !=
		"map[duration:0 entitlements:[export pro] leaseSeconds:120 maxMachines:5 requireMachineId:true]" {
		t.Fatalf("the policy saved by the dialog: %v", got["policy"])
	}

	// A new license starts from the policy.
	b.open(e, "#/licenses", "Licenses")
	b.click(`button[data-focus="new-license"]`)
	b.waitText("dialog h2", "New license")
	b.waitFor("the policy's terms", `() => document.querySelector('dialog input[name="leaseSeconds"]').value === "120" &&
		document.querySelector('dialog input[name="maxMachines"]').value === "5" &&
		document.querySelector('dialog input[name="entitlements"]').value === "export, pro"`)
	b.labelled("dialog")
	b.shot("new-license-from-policy")
	b.click(`dialog button[type="submit"]`)
	b.waitGone("dialog")
	b.waitText(".toasts", "created")
	_, list := e.call("GET", "/license?projectId="+projectID, token, nil)
	l := list["licenses"].([]any)[0].(map[string]any)
	key := l["key"].(string)
	if l["leaseSeconds"] != 120.0 || l["maxMachines"] != 5.0 || l["requireMachineId"] != true || fmt.Sprint(l["entitlements"]) != "[export pro]" {
		t.Fatalf("the license made from the policy: %v", l)
	}

	// Two machines; one goes silent past its lease.
	for _, m := range []string{"laptop", "desktop"} {
		if st, r := e.call("POST", "/validate/activate", "", map[string]string{"key": key, "machineId": m}); st != 200 {
			t.Fatalf("activate %s: %d %v", m, st, r)
		}
	}
	b.open(e, "#/licenses/"+key, key)
	b.waitText(".facts", "2 of 5")
	b.waitText(".facts", "2 minutes: a seat lapses")
	b.waitText(".facts .code", "export")
	b.waitText(".facts", "Required")
	if n := eval[int](b, `[...document.querySelectorAll("td[data-label='Lease expires'] time")].length`); n != 2 {
		t.Errorf("%d seats show a lease expiry, want 2", n)
	}
	b.shot("license-leases")
	e.clock.Add(90 * time.Second)
	if st, r := e.call("POST", "/validate/heartbeat", "", map[string]string{"key": key, "machineId": "laptop"}); st != 200 {
		t.Fatalf("heartbeat: %d %v", st, r)
	}
	e.clock.Add(40 * time.Second)
	b.do("reload", chromedp.Reload())
	b.waitText(".facts", "1 of 5")
	b.waitText("td[data-label='Lease expires'] .lapsed", "Lapsed")
	if n := eval[int](b, `document.querySelectorAll("td[data-label='Lease expires'] time").length`); n != 1 {
		t.Errorf("%d seats show a running lease, want the laptop's alone", n)
	}
	b.shot("license-lapsed")

	// The license's own terms.
	b.clickButton("", "Edit terms")
	b.waitText("dialog h2", "Edit terms")
	b.labelled("dialog")
	b.fill(`dialog textarea[name="metadata"]`, `{"plan":`)
	b.click(`dialog button[type="submit"]`)
	b.waitText(`dialog [data-field="metadata"] .field-error`, "This is not JSON.")
	b.fill(`dialog textarea[name="metadata"]`, `{"plan": "gold", "<b>note</b>": "<img src=x>"}`)
	b.fill(`dialog input[name="entitlements"]`, "pro")
	b.fill(`dialog input[name="leaseSeconds"]`, "0")
	b.click(`dialog button[type="submit"]`)
	b.waitGone("dialog")
	b.waitText(".facts pre.metadata", `"plan": "gold"`)
	b.waitText(".facts", "None: seats are kept until freed")
	b.waitText(".facts", "2 of 5") // without a lease, no seat lapses
	if n := eval[int](b, `document.querySelectorAll(".facts .code").length`); n != 1 {
		t.Errorf("%d entitlements shown, want pro alone", n)
	}
	if n := eval[int](b, `document.querySelectorAll("main img").length`); n != 0 {
		t.Errorf("metadata made %d elements", n)
	}
	_, got := e.call("GET", "/license/"+key, token, nil)
	if lic := got["license"].(map[string]any); fmt.Sprint(lic["metadata"]) != "map[<b>note</b>:<img src=x> plan:gold]" || lic["leaseSeconds"] != 0.0 {
		t.Fatalf("the license after Edit terms: %v", lic)
	}
	b.shot("license-terms")
}
