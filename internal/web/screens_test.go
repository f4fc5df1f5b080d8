package web_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/keyboxhq/keybox/internal/servertest"
)

// noZeroPager fails when a page says "Showing 0–0 of 0" (an empty list has
// an empty state with the next action instead).
func (b *tab) noZeroPager(where string) {
	b.t.Helper()
	if txt := b.text("main"); strings.Contains(txt, "Showing 0") || strings.Contains(txt, "0–0") {
		b.t.Errorf("%s shows an empty pager: %q", where, txt)
	}
}

// TestFirstRunAndEmptyStates: each empty page offers the next action as a
// button, and following them from a new account's overview ends in a first
// license; New license without any client offers to create one first.
func TestFirstRunAndEmptyStates(t *testing.T) {
	e := newEnv(t)
	e.developer("Ada", "ada@example.com")
	b := newTab(t)
	b.login(e, "ada@example.com")
	b.waitText("main", "Welcome! Start with a client")
	b.noZeroPager("overview")
	b.accessible("empty overview")
	b.shot("overview-first-steps")
	b.clickButton("main", "Create your first client")
	b.waitText("dialog h2", "New client")
	b.fill(`dialog input[name="name"]`, "Acme")
	b.fill(`dialog input[name="email"]`, "acme@example.com")
	b.click(`dialog button[type="submit"]`)
	b.waitText("h1", "Acme") // the new client's page, where its first project is next
	b.waitText(".tree-wrap", "No projects yet.")
	b.noZeroPager("client without projects")
	b.clickButton(".tree-wrap", "Create the first project")
	b.fill(`dialog input[name="projectName"]`, "Website")
	b.click(`dialog button[type="submit"]`)
	b.waitText(".tree h3", "Website")
	b.waitText(".tree .meta", "0 of 1 seat in use")

	// Another developer, with nothing yet: each list says so with a button.
	e.developer("Bob", "bob@example.com")
	bob := newTab(t)
	bob.login(e, "bob@example.com")
	bob.open(e, "#/clients", "Clients")
	bob.waitText(".results .empty-state button", "New client")
	bob.noZeroPager("clients")
	bob.open(e, "#/licenses", "Licenses")
	bob.waitText(".results .empty-state button", "New license")
	bob.noZeroPager("licenses")
	bob.shot("licenses-empty")
	// New license without a client: first a client, then its first project,
	// which comes with the license.
	bob.clickButton(".page-head", "New license")
	bob.waitText("dialog", "You have no clients yet.")
	bob.clickButton("dialog", "New client")
	bob.waitText("dialog h2", "New client")
	bob.fill(`dialog input[name="name"]`, "Globex")
	bob.fill(`dialog input[name="email"]`, "globex@example.com")
	bob.click(`dialog button[type="submit"]`)
	bob.waitText("dialog h2", "New project")
	bob.waitText("dialog", "sold to Globex")
	bob.fill(`dialog input[name="projectName"]`, "Portal")
	bob.click(`dialog button[type="submit"]`)
	bob.waitGone("dialog")
	bob.waitFor("the table to list the license", `() => document.querySelectorAll(".results a.key").length === 1`)
	bob.waitText(".results", "Globex")
}

// TestSignupClosed: with signup closed, a fresh installation's page says
// how the first account is made, and no page offers to sign up.
func TestSignupClosed(t *testing.T) {
	e := newEnvWith(t, servertest.Options{SignupClosed: true})
	b := newTab(t)
	b.navigate(e.url + "/app/")
	b.waitText("h1", "Log in")
	b.waitText("main", "This KeyBox has no accounts yet, and signing up is closed.")
	b.waitText("main", "keybox users create")
	if strings.Contains(b.text("main"), "Create an account") {
		t.Error("the login page offers to create an account although signup is closed")
	}
	b.shot("signup-closed")
	b.open(e, "#/signup", "Signing up is closed")
	if n := eval[int](b, `document.querySelectorAll("main form").length`); n != 0 {
		t.Errorf("the closed signup page has %d forms", n)
	}
}

// TestPickers: a client is found by typing, through the API, and chosen
// with the keyboard; the picker is a combobox as WAI-ARIA describes it; a
// search runs once the typing pauses, not once per key.
func TestPickers(t *testing.T) {
	e := newEnv(t)
	token := e.developer("Ada", "ada@example.com")
	var target string
	for i := 1; i <= 30; i++ {
		_, c := e.call("POST", "/clients", token, map[string]string{"name": fmt.Sprintf("Client %02d", i), "email": fmt.Sprintf("c%02d@example.com", i)})
		id := c["client"].(map[string]any)["_id"].(string)
		e.call("POST", "/projects/createProject", token, map[string]any{"clientId": id, "projectName": fmt.Sprintf("Project %02d", i), "duration": 1, "services": []string{"Hosting"}})
		if i == 7 {
			target = id
		}
	}
	b := newTab(t)
	b.login(e, "ada@example.com")
	b.open(e, "#/licenses", "Licenses")
	b.waitFor("the table", `() => document.querySelectorAll(".results a.key").length === 20`)

	box := combobox("main", "clientId")
	before := b.mark()
	got := b.options("main", "clientId", "client 07")
	if fmt.Sprint(got) != "[Any client Client 07]" {
		t.Fatalf("searching for client 07 offers %v", got)
	}
	if n := b.countRequests(before, "/clients"); n > 2 {
		t.Errorf("typing 9 characters sent %d searches, want one after the typing paused (two at most)", n)
	}
	aria := eval[map[string]string](b, fmt.Sprintf(`(() => {
		const el = document.querySelector(%q);
		const list = document.getElementById(el.getAttribute("aria-controls"));
		return { role: el.getAttribute("role"), expanded: el.getAttribute("aria-expanded"), autocomplete: el.getAttribute("aria-autocomplete"),
			listRole: list?.getAttribute("role") ?? "", label: el.labels[0]?.textContent ?? "",
			active: el.getAttribute("aria-activedescendant") ?? "", activeSelected: document.getElementById(el.getAttribute("aria-activedescendant"))?.getAttribute("aria-selected") ?? "" };
	})()`, box))
	want := map[string]string{"role": "combobox", "expanded": "true", "autocomplete": "list", "listRole": "listbox", "label": "Client", "activeSelected": "true"}
	for k, v := range want {
		if aria[k] != v {
			t.Errorf("picker %s = %q, want %q (all: %v)", k, aria[k], v, aria)
		}
	}
	b.accessible("picker open")
	b.shot("picker-open")
	// Arrow keys move through the options; Enter chooses; the list closes.
	b.do("arrow up", chromedp.KeyEvent(kb.ArrowUp))
	if got := eval[string](b, fmt.Sprintf(`document.getElementById(document.querySelector(%q).getAttribute("aria-activedescendant"))?.textContent`, box)); got != "Any client" {
		t.Errorf("ArrowUp made %q the active option, want Any client", got)
	}
	b.do("arrow down, enter", chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.Enter))
	b.waitFor("the list closed", `(box) => document.querySelector(box).getAttribute("aria-expanded") === "false"`, box)
	b.waitFor("one license", `() => document.querySelectorAll(".results a.key").length === 1`)
	if got := eval[string](b, "location.hash"); got != "#/licenses?clientId="+target {
		t.Errorf("after choosing Client 07 the page is at %q", got)
	}

	// In a dialog, Escape closes the list, not the dialog.
	b.clickButton(".page-head", "New license")
	b.waitText("dialog h2", "New license")
	b.waitFor("Client 07 chosen", `() => document.querySelector('dialog [data-field="clientId"] input[role="combobox"]').value === "Client 07"`)
	b.options("dialog", "clientId", "client 1")
	b.do("escape", chromedp.KeyEvent(kb.Escape))
	b.waitFor("the list closed", `() => document.querySelector('dialog [data-field="clientId"] input[role="combobox"]').getAttribute("aria-expanded") === "false"`)
	if !eval[bool](b, `document.querySelector("dialog[open]") !== null`) {
		t.Fatal("Escape in an open picker closed the dialog")
	}
	if got := eval[string](b, `document.querySelector('dialog [data-field="clientId"] input[role="combobox"]').value`); got != "Client 07" {
		t.Errorf("after Escape the picker shows %q, want the chosen Client 07 again", got)
	}
	b.focusTrapped("new license dialog")
	b.accessible("new license dialog")
	b.do("escape", chromedp.KeyEvent(kb.Escape))
	b.waitGone("dialog")
}

// TestTreeActions: in a client's tree, a license is revoked in one click
// and the revocation undone from the message; a project is renamed, and
// deleted with its licenses after a second, explicit confirmation.
func TestTreeActions(t *testing.T) {
	e := newEnv(t)
	token := e.developer("Ada", "ada@example.com")
	_, c := e.call("POST", "/clients", token, map[string]string{"name": "Acme", "email": "acme@example.com"})
	clientID := c["client"].(map[string]any)["_id"].(string)
	_, p := e.call("POST", "/projects/createProject", token, map[string]any{"clientId": clientID, "projectName": "Website", "duration": 12, "services": []string{"Hosting"}})
	key := p["license"].(map[string]any)["key"].(string)
	e.call("POST", "/validate/activate", "", map[string]string{"key": key, "machineId": "m1"})

	b := newTab(t)
	b.login(e, "ada@example.com")
	b.open(e, "#/clients/"+clientID, "Acme")
	b.waitText(".tree .meta", "1 of 1 seat in use")
	before := len(b.dialogsOpened())
	b.click(fmt.Sprintf(`button[aria-label="Revoke %s"]`, key))
	b.waitText(".tree .badge", "REVOKED")
	if n := eval[int](b, `document.querySelectorAll("dialog").length`); n != 0 {
		t.Errorf("revoking from the tree opened %d dialogs, want none", n)
	}
	if v := e.validate(key, "m1"); v["status"] != "revoked" {
		t.Fatalf("after one click the key validates as %v", v)
	}
	b.waitText(".toasts", "revoked")
	b.shot("tree-revoked-undo")
	b.clickButton(".toasts", "Undo")
	b.waitText(".tree .badge", "ACTIVE")
	if v := e.validate(key, "m1"); v["valid"] != true {
		t.Fatalf("after Undo the key validates as %v", v)
	}
	if len(b.dialogsOpened()) != before {
		t.Errorf("JavaScript dialogs opened: %v", b.dialogsOpened())
	}

	// Rename, with the name refused when empty.
	b.click(`button[aria-label="Rename Website"]`)
	b.fill(`dialog input[name="name"]`, " ")
	b.click(`dialog button[type="submit"]`)
	b.waitText(`dialog [data-field="name"] .field-error`, "Project name is required.")
	b.fill(`dialog input[name="name"]`, "Web shop")
	b.click(`dialog button[type="submit"]`)
	b.waitText(".tree h3", "Web shop")

	// Delete: it has a license, so a second confirmation.
	b.click(`button[aria-label="Delete Web shop"]`)
	b.clickButton("dialog", "Delete project")
	b.waitText("dialog h2", "This project has licenses")
	b.clickButton("dialog", "Delete project and its licenses")
	b.waitText(".tree-wrap", "No projects yet.")
	if st, _ := e.call("GET", "/license/"+key, token, nil); st != 404 {
		t.Errorf("the deleted project's license: got %d, want 404", st)
	}
}

// TestLicenseSortAndPageSize: the table sorts by a column's heading, and
// its order and page size are in the address.
func TestLicenseSortAndPageSize(t *testing.T) {
	e := newEnv(t)
	token := e.developer("Ada", "ada@example.com")
	_, c := e.call("POST", "/clients", token, map[string]string{"name": "Acme", "email": "acme@example.com"})
	clientID := c["client"].(map[string]any)["_id"].(string)
	_, p := e.call("POST", "/projects/createProject", token, map[string]any{"clientId": clientID, "projectName": "Website", "duration": 12, "services": []string{"Hosting"}})
	projectID := p["project"].(map[string]any)["_id"].(string)
	for i := 1; i < 25; i++ {
		e.call("POST", "/license/create", token, map[string]any{"clientId": clientID, "projectId": projectID, "duration": 1 + i%12, "key": fmt.Sprintf("KEY-%02d", i)})
	}
	e.call("POST", "/validate/activate", "", map[string]string{"key": "KEY-05", "machineId": "m"}) // 6 months
	e.call("POST", "/validate/activate", "", map[string]string{"key": "KEY-12", "machineId": "m"}) // 1 month

	b := newTab(t)
	b.login(e, "ada@example.com")
	b.open(e, "#/licenses", "Licenses")
	b.waitFor("20 rows", `() => document.querySelectorAll(".results a.key").length === 20`)
	b.waitText(".pager", "Showing 1–20 of 25")
	b.click(`th button[data-sort="expiresAt"]`)
	b.waitFor("sorted by expiry", `() => document.querySelector(".results a.key")?.textContent === "KEY-12"`)
	if got := eval[string](b, `document.querySelector('th[aria-sort="ascending"]')?.textContent ?? ""`); !strings.HasPrefix(got, "Expires") {
		t.Errorf("the column sorted ascending is %q, want Expires", got)
	}
	keys := eval[[]string](b, `[...document.querySelectorAll(".results a.key")].slice(0, 2).map((a) => a.textContent)`)
	if fmt.Sprint(keys) != "[KEY-12 KEY-05]" {
		t.Errorf("by expiry the table starts %v, want the one expiring first", keys)
	}
	b.click(`th button[data-sort="expiresAt"]`)
	b.waitFor("sorted the other way", `() => document.querySelector('th[aria-sort="descending"]') !== null`)
	b.do("50 rows", chromedp.SetValue(chromedp.CSS(`select[name="limit"]`), "50"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('select[name="limit"]').dispatchEvent(new Event("change"))`))
	b.waitFor("25 rows", `() => document.querySelectorAll(".results a.key").length === 25`)
	b.waitText(".pager", "Showing 1–25 of 25")
	if got := eval[string](b, "location.hash"); got != "#/licenses?sort=expiresAt&order=desc&limit=50" {
		t.Errorf("the sorted table is at %q", got)
	}
	b.do("reload", chromedp.Reload())
	b.waitFor("25 rows again", `() => document.querySelectorAll(".results a.key").length === 25`)
	if got := eval[string](b, `document.querySelector('select[name="sort"]').value`); got != "expiresAt:desc" {
		t.Errorf("after a reload the sort is %q", got)
	}
	b.waitText(".results td[data-label='Seats']", "1 of 1 seat in use")
	b.accessible("licenses sorted")
	b.shot("licenses-sorted")
}

// TestDialogsAndForms: Back closes a dialog and stays on the page; every
// field's problem shows at once, the page's own checks and the server's.
func TestDialogsAndForms(t *testing.T) {
	e := newEnv(t)
	token := e.developer("Ada", "ada@example.com")
	_, c := e.call("POST", "/clients", token, map[string]string{"name": "Acme", "email": "acme@example.com"})
	clientID := c["client"].(map[string]any)["_id"].(string)
	e.call("POST", "/projects/createProject", token, map[string]any{"clientId": clientID, "projectName": "Website", "duration": 12, "services": []string{"Hosting"}})

	b := newTab(t)
	b.login(e, "ada@example.com")
	b.open(e, "#/clients", "Clients")
	length := eval[int](b, "history.length")
	b.click(`button[data-focus="new-client"]`)
	b.waitText("dialog h2", "New client")
	b.do("back", chromedp.NavigateBack())
	b.waitGone("dialog")
	if got := eval[string](b, "location.hash"); got != "#/clients" {
		t.Errorf("Back from the dialog went to %q, want to stay on #/clients", got)
	}
	b.waitText(".results td", "Acme")
	// Cancel takes the dialog's history entry away too: Back then leaves
	// the page as it would have without the dialog.
	b.click(`button[data-focus="new-client"]`)
	b.clickButton("dialog", "Cancel")
	b.waitGone("dialog")
	if got := eval[int](b, "history.length"); got > length+1 {
		t.Errorf("history grew from %d to %d entries", length, got)
	}

	// Every problem at once: both empty fields.
	b.click(`button[data-focus="new-client"]`)
	b.click(`dialog button[type="submit"]`)
	b.waitText(`dialog [data-field="name"] .field-error`, "Name is required.")
	b.waitText(`dialog [data-field="email"] .field-error`, "Email address is required.")
	if got := eval[string](b, `document.activeElement.name`); got != "name" {
		t.Errorf("the focus is on %q, want the first field to fix", got)
	}
	b.shot("all-errors")
	b.do("escape", chromedp.KeyEvent(kb.Escape))
	b.waitGone("dialog")

	// The server's, several in one answer.
	b.open(e, "#/clients/"+clientID, "Acme")
	b.click(`button[aria-label="Policy of Website"]`)
	b.fill(`dialog input[name="leaseSeconds"]`, "30")
	b.fill(`dialog input[name="entitlements"]`, "Pro Plan!")
	b.click(`dialog button[type="submit"]`)
	b.waitText(`dialog [data-field="leaseSeconds"] .field-error`, "60")
	b.waitText(`dialog [data-field="entitlements"] .field-error`, "lower-case letter")
	if n := eval[int](b, `[...document.querySelectorAll("dialog .field-error")].filter((e) => !e.hidden && e.textContent).length`); n < 2 {
		t.Errorf("%d field errors shown, want the lease's and the entitlements' at once", n)
	}
	b.shot("server-errors")
}
