package web_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/servertest"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// newDeliveringEnv is newEnv with the webhook delivery worker running, as
// keybox serve runs it (woken by each commit), and webhooks allowed to
// reach loopback, where the tests' receivers listen.
func newDeliveringEnv(t *testing.T) *env {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := servertest.New(t, storetest.SQLite(t), servertest.Options{StartAt: time.Now(), Listener: ln, Deliveries: true})
	return &env{t: t, url: s.URL, clock: s.Clock}
}

// hookReceiver is a webhook endpoint on loopback that answers HTML (which
// the dashboard must show as text) and keeps what it was sent.
type hookReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	received []hookMessage
}

type hookMessage struct {
	id, timestamp, signature string
	body                     []byte
}

// hostileAnswer is what the receiver answers: markup that would run a
// script if the page parsed it.
const hostileAnswer = `<img src=x onerror="window.__xss=1"><b>ok</b>`

func newHookReceiver(t *testing.T) *hookReceiver {
	rc := &hookReceiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.received = append(rc.received, hookMessage{r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature"), body})
		rc.mu.Unlock()
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, hostileAnswer)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *hookReceiver) messages() []hookMessage {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.received)
}

// signedWith reports whether m's signature is the Standard Webhooks one
// made with secret (whsec_ and the key in base64).
func (m hookMessage) signedWith(secret string) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.%s", m.id, m.timestamp, m.body)
	return hmac.Equal([]byte(m.signature), []byte("v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil))))
}

// closedPort is a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// noMarkup fails when user or endpoint text became elements, or ran.
func (b *tab) noMarkup(where string) {
	b.t.Helper()
	n := eval[int](b, `document.querySelectorAll("main img, main b, main script, main [onerror], dialog img").length`)
	if ran := eval[bool](b, `window.__xss === 1`); n != 0 || ran {
		b.t.Errorf("%s: %d elements were made from text (script ran: %v)", where, n, ran)
	}
}

// TestWebhooksPage: a developer adds a webhook in the dashboard, choosing
// the events it gets, and sees its signing secret once (it signs what the
// endpoint receives); a test message is delivered and what the endpoint
// answered (HTML) is shown as text; pointed at a closed port the test
// fails and waits for a retry, and once pointed back, Retry delivers that
// same message. It is turned off (saying so) and on, and deleted.
func TestWebhooksPage(t *testing.T) {
	e := newDeliveringEnv(t)
	e.developer("Ada", "ada@example.com")
	rc := newHookReceiver(t)
	b := newTab(t)
	b.login(e, "ada@example.com")
	b.open(e, "#/webhooks", "Webhooks")
	b.waitText("main", "No webhooks")

	b.click(`button[data-focus="new-webhook"]`)
	b.waitText("dialog h2", "New webhook")
	b.fill(`dialog input[name="url"]`, "ftp://example.com/")
	b.click(`dialog button[type="submit"]`) // refused, named
	b.waitText(`dialog .field[data-field="url"] .field-error`, "Must use http or https")
	b.fill(`dialog input[name="url"]`, rc.URL+"/keybox")
	b.fill(`dialog input[name="description"]`, "billing")
	if !eval[bool](b, `document.querySelector('dialog input[value="license.revoked"]').disabled`) {
		t.Fatal("with All events chosen, the single types can be chosen too")
	}
	b.labelled("dialog")
	b.click(`dialog input[value="*"]`)
	b.click(`dialog input[value="license.revoked"]`)
	b.click(`dialog input[value="client.created"]`)
	b.click(`dialog button[type="submit"]`)
	b.waitText("dialog h2", "Copy the signing secret now")
	b.waitText("dialog", "You will not see it again")
	secret := b.text("dialog [data-secret]")
	if !regexp.MustCompile(`^whsec_[A-Za-z0-9+/]{43}=$`).MatchString(secret) {
		t.Fatalf("the dialog shows %q, want the webhook's secret", secret)
	}
	b.click(`dialog button[data-copy]`)
	b.waitText(".toasts", "Secret copied")
	if got := eval[string](b, "navigator.clipboard.readText()"); got != secret {
		t.Fatalf("the clipboard holds %q, want the secret", got)
	}
	b.shot("webhook-secret")
	b.clickButton("dialog", "Done")
	b.waitGone("dialog")
	b.waitText("main table", rc.URL+"/keybox")
	b.waitText("main table", "client.created, license.revoked")
	b.waitText("main table .badge", "Enabled")
	b.waitText("main table", "None yet")
	b.waitText("main table", "billing")
	if strings.Contains(b.text("body"), secret[6:]) || strings.Contains(b.storage(), secret[6:]) {
		t.Fatal("the secret is shown again, or kept in the browser")
	}

	// A test message: delivered, signed with the secret shown, and the
	// endpoint's HTML answer shown as text.
	b.clickButton("main table", rc.URL+"/keybox")
	b.waitText("h1", rc.URL+"/keybox")
	b.waitText("main", "No deliveries yet")
	b.clickButton("main .page-head", "Send test")
	b.waitFor("the test's outcome", `() => document.querySelector('[data-outcome="delivered"]') !== null`)
	b.waitText(`[data-outcome]`, "HTTP 200")
	b.waitText("main table .badge", "delivered")
	b.waitText("main table pre.response", hostileAnswer)
	b.noMarkup("the deliveries")
	got := rc.messages()
	if len(got) != 1 || !strings.Contains(string(got[0].body), `"type":"webhook.test"`) || !got[0].signedWith(secret) {
		t.Fatalf("the endpoint received %d messages (%+v), want the test signed with the secret shown", len(got), got)
	}
	b.shot("webhook-delivered")

	// Pointed at a closed port, the test fails and waits for a retry.
	dead := "http://" + closedPort(t) + "/hook"
	b.clickButton("main .page-head", "Edit")
	b.waitText("dialog h2", "Edit webhook")
	if eval[bool](b, `document.querySelector('dialog input[value="*"]').checked`) ||
		!eval[bool](b, `document.querySelector('dialog input[value="client.created"]').checked`) {
		t.Fatal("the edit dialog does not hold the chosen events")
	}
	b.fill(`dialog input[name="url"]`, dead)
	b.clickButton("dialog", "Save changes")
	b.waitGone("dialog")
	b.waitText("h1", dead)
	b.clickButton("main .page-head", "Send test")
	b.waitFor("the failed test", `() => document.querySelector('[data-outcome="failed"]') !== null`)
	b.waitText(`[data-outcome]`, "no answer")
	b.waitText(`[data-outcome]`, "Next retry")
	b.waitText("main table .badge", "retrying")
	b.waitText("main .facts", "Failing since")
	b.shot("webhook-failed")
	failedID := eval[string](b, `document.querySelector('main table button[aria-label^="Retry delivery"]').getAttribute("aria-label").replace("Retry delivery ", "")`)

	// Back at the receiver, Retry sends that message, under its own id.
	b.clickButton("main .page-head", "Edit")
	b.fill(`dialog input[name="url"]`, rc.URL+"/keybox")
	b.clickButton("dialog", "Save changes")
	b.waitGone("dialog")
	b.waitText("h1", rc.URL+"/keybox")
	b.clickButton("main table", "Retry")
	b.waitFor("the retry's outcome", `() => document.querySelector('[data-outcome="delivered"]') !== null`)
	b.waitText(`[data-outcome]`, "Retried message delivered")
	got = rc.messages()
	if len(got) != 2 || got[1].id != failedID || !got[1].signedWith(secret) {
		t.Fatalf("after the retry the endpoint has %d messages, the last %q; want the failed delivery %s", len(got), got[len(got)-1].id, failedID)
	}
	b.waitFor("no retry offered", `() => !document.querySelector('main table button[aria-label^="Retry delivery"]')`)
	b.waitText("main table details summary", "Every attempt (2)")
	b.waitFor("the failures forgotten", `() => !document.querySelector("main .facts").textContent.includes("Failing since")`)
	b.noMarkup("the deliveries after the retry")

	b.viewport(phoneWidth, phoneHeight, true)
	b.noOverflow("#/webhooks/ID")
	b.shot("phone-webhook")
	b.viewport(desktopWidth, desktopHeight, false)

	// Off, saying who turned it off; on again.
	b.clickButton("main .page-head", "Turn off")
	b.waitText("dialog h2", "Turn this webhook off?")
	b.clickButton("dialog", "Turn off")
	b.waitText("main .facts .badge", "Disabled")
	b.waitText("main .facts", "Turned off by you")
	b.clickButton("main .page-head", "Turn on")
	b.waitText("main .facts .badge", "Enabled")

	b.open(e, "#/webhooks", "Webhooks")
	b.waitText("main table .badge-delivery-delivered", "delivered")
	b.viewport(phoneWidth, phoneHeight, true)
	b.noOverflow("#/webhooks")
	b.viewport(desktopWidth, desktopHeight, false)

	b.clickButton("main table", rc.URL+"/keybox")
	b.clickButton("main .page-head", "Delete")
	b.waitText("dialog h2", "Delete this webhook?")
	b.clickButton("dialog", "Delete webhook")
	b.waitText("h1", "Webhooks")
	b.waitText("main", "No webhooks")
}

// TestEventLogPage: the event log shows a license revoked in the dashboard
// with its actor (the person, named) and a link to the license; a restore
// made through an API token names the token; an activation names the
// application by its key's fingerprint. The license's and the client's
// History links filter by subject; the type, subject and date filters
// work; a client name that is markup stays text.
func TestEventLogPage(t *testing.T) {
	e := newEnv(t)
	ada := e.developer("Ada", "ada@example.com")
	const evil = `<img src=x onerror="window.__xss=1">`
	_, c := e.call("POST", "/clients", ada, map[string]string{"name": evil, "email": "evil@example.com"})
	clientID := c["client"].(map[string]any)["_id"].(string)
	_, p := e.call("POST", "/projects/createProject", ada, map[string]any{
		"clientId": clientID, "projectName": "Website", "duration": 3, "services": []string{"Hosting"}})
	key := p["license"].(map[string]any)["key"].(string)
	licenseID := p["license"].(map[string]any)["_id"].(string)
	_, tok := e.call("POST", "/tokens", ada, map[string]string{"name": "billing", "scope": "write"})
	apiToken := tok["token"].(string)

	b := newTab(t)
	b.login(e, "ada@example.com")
	b.open(e, "#/licenses/"+key, key)
	b.clickButton("main .actions", "Revoke")
	b.clickButton("dialog", "Revoke license")
	b.badgeIs("REVOKED")
	if st, r := e.call("PATCH", "/license/revoke/"+key, apiToken, nil); st != 200 {
		t.Fatalf("restore through the token: %d %v", st, r)
	}
	if st, r := e.call("POST", "/validate/activate", "", map[string]string{"key": key, "machineId": "laptop-1"}); st != 200 {
		t.Fatalf("activate: %d %v", st, r)
	}

	// The license's history.
	b.open(e, "#/licenses/"+key, key)
	b.clickButton("main .actions", "History")
	b.waitText("h1", "Event log")
	b.waitText("main", "Showing the history of one object")
	if strings.Contains(b.text("main"), "null") || strings.Contains(b.text("main"), "undefined") {
		t.Errorf("the event log shows null or undefined:\n%s", b.text("main"))
	}
	if got := eval[string](b, `new URLSearchParams(location.hash.split("?")[1]).get("subject")`); got != licenseID {
		t.Fatalf("the history is of subject %q, want the license %s", got, licenseID)
	}
	b.waitFor("the revoke", `() => [...document.querySelectorAll("main tbody tr")].some((tr) => tr.textContent.includes("license.revoked"))`)
	types := eval[[]string](b, `[...document.querySelectorAll("main tbody code.event-type")].map((c) => c.textContent)`)
	if want := []string{"license.restored", "license.revoked", "license.created"}; !slices.Equal(types, want) {
		t.Fatalf("the license's history lists %v, want %v (newest first)", types, want)
	}
	revoked := `[...document.querySelectorAll("main tbody tr")].find((tr) => tr.textContent.includes("license.revoked"))`
	cell := func(label string) string {
		return eval[string](b, fmt.Sprintf(`%s.querySelector('td[data-label=%q]').textContent`, revoked, label))
	}
	if got := cell("Actor"); got != "Ada (you)" {
		t.Errorf("the revoke's actor shows %q, want Ada (you)", got)
	}
	if got := cell("What changed"); !strings.Contains(got, "status: PENDING → REVOKED") {
		t.Errorf("the revoke's data shows %q", got)
	}
	if got := cell("Origin"); !strings.Contains(got, "127.0.0.1") {
		t.Errorf("the revoke's origin shows %q, want the address and the request id", got)
	}
	restored := `[...document.querySelectorAll("main tbody tr")].find((tr) => tr.textContent.includes("license.restored"))`
	if got := eval[string](b, restored+`.querySelector('td[data-label="Actor"]').textContent`); got != "API token “billing”" {
		t.Errorf("the restore's actor shows %q, want the token by its name", got)
	}
	b.shot("events-license")
	b.do("follow the subject", chromedp.Click(chromedp.CSS(`main tbody a[data-subject="license"]`)))
	b.waitText("h1", key)

	// Every event, filtered by type: the client's, with its name as text.
	b.open(e, "#/events", "Event log")
	b.waitText("main tbody", "activation.created")
	b.labelled("main")
	if strings.Contains(b.text("main"), "null") || strings.Contains(b.text("main"), "undefined") {
		t.Errorf("the event log shows null or undefined:\n%s", b.text("main"))
	}
	app := `[...document.querySelectorAll("main tbody tr")].find((tr) => tr.textContent.includes("activation.created"))`
	actor := eval[string](b, app+`.querySelector('td[data-label="Actor"]').textContent`)
	if !strings.HasPrefix(actor, "Application ") || len(actor) < len("Application ")+8 || strings.Contains(actor, key) {
		t.Errorf("the activation's actor shows %q, want the application by its key's fingerprint", actor)
	}
	b.do("choose client.*", chromedp.SetValue(chromedp.CSS(`select[name="type"]`), "client.*"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('select[name="type"]').dispatchEvent(new Event("change"))`))
	b.waitFor("only client events", `() => {
		const t = [...document.querySelectorAll("main tbody code.event-type")].map((c) => c.textContent);
		return t.length === 1 && t[0] === "client.created";
	}`)
	b.waitText(`main tbody a[data-subject="client"]`, evil)
	b.noMarkup("the client's event")
	b.shot("events-client")

	// By subject, typed as type/id; and since tomorrow: nothing.
	b.do("any type", chromedp.SetValue(chromedp.CSS(`select[name="type"]`), ""))
	b.fill(`input[name="subject"]`, "client/"+clientID)
	b.clickButton("main form", "Filter")
	b.waitFor("the client's events", `() => {
		const t = [...document.querySelectorAll("main tbody code.event-type")].map((c) => c.textContent);
		return t.length === 1 && t[0] === "client.created";
	}`)
	b.fill(`input[name="subject"]`, "")
	tomorrow := time.Now().Add(24 * time.Hour).Format("2006-01-02")
	b.do("since tomorrow", chromedp.SetValue(chromedp.CSS(`input[name="since"]`), tomorrow),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('input[name="since"]').dispatchEvent(new Event("change"))`))
	b.waitText("main", "No event matches these filters.")
	b.do("since today", chromedp.SetValue(chromedp.CSS(`input[name="since"]`), time.Now().Format("2006-01-02")),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('input[name="since"]').dispatchEvent(new Event("change"))`))
	b.waitText("main tbody", "license.revoked")

	// The client's History link.
	b.open(e, "#/clients/"+clientID, evil)
	b.clickButton("main .page-head", "History")
	b.waitText("h1", "Event log")
	b.waitFor("the client's history", `() => {
		const t = [...document.querySelectorAll("main tbody code.event-type")].map((c) => c.textContent);
		return t.length === 1 && t[0] === "client.created";
	}`)
	b.noMarkup("the client's history")

	b.viewport(phoneWidth, phoneHeight, true)
	b.open(e, "#/events", "Event log")
	b.waitText("main tbody", "license.revoked")
	b.noOverflow("#/events")
	b.shot("phone-events")
	if d := b.dialogsOpened(); len(d) > 0 {
		t.Fatalf("JavaScript dialogs opened: %v", d)
	}
}

// TestEventTypesKnownToTheDashboard: the dashboard's list of event types,
// offered in the filters, is the server's.
func TestEventTypesKnownToTheDashboard(t *testing.T) {
	src, err := os.ReadFile("static/js/events.js")
	if err != nil {
		t.Fatal(err)
	}
	list := regexp.MustCompile(`(?s)export const eventTypes = \[(.*?)\];`).FindSubmatch(src)
	if list == nil {
		t.Fatal("events.js has no eventTypes list")
	}
	var got []string
	for _, m := range regexp.MustCompile(`"([a-z_.]+)"`).FindAllSubmatch(list[1], -1) {
		got = append(got, string(m[1]))
	}
	if !slices.Equal(got, keybox.EventTypes) {
		t.Fatalf("the dashboard knows the event types\n%v\nthe server records\n%v", got, keybox.EventTypes)
	}
}
