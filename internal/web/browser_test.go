package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/servertest"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// --- the server ---

// env is the real server over a real SQLite file, on loopback HTTP. Its
// clock starts at the real time, so the dates the browser shows are near
// today; tests move it instead of sleeping.
type env struct {
	t     *testing.T
	url   string
	clock *servertest.Clock
	store keybox.Store
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startEnv(t, ln)
}

// startEnv serves on ln, so a test may choose the address.
func startEnv(t *testing.T, ln net.Listener) *env {
	t.Helper()
	return newEnvWith(t, servertest.Options{Listener: ln})
}

// newEnvWith starts the server with options (its clock at the real time).
func newEnvWith(t *testing.T, opts servertest.Options) *env {
	t.Helper()
	opts.StartAt = time.Now()
	s := servertest.New(t, storetest.SQLite(t), opts)
	return &env{t: t, url: s.URL, clock: s.Clock, store: s.Store}
}

// call sends a JSON request to the API from Go, as a shipped application
// (or a script) would, and decodes the answer.
func (e *env) call(method, path, token string, body any) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, out
}

// developer signs up and logs in through the API and returns a token.
func (e *env) developer(name, email string) string {
	e.t.Helper()
	if st, b := e.call("POST", "/auth/signup", "", map[string]string{
		"name": name, "email": email, "password": password, "confirm_password": password,
	}); st != 201 {
		e.t.Fatalf("signup: got %d %v, want 201", st, b)
	}
	st, b := e.call("POST", "/auth/login", "", map[string]string{"email": email, "password": password})
	if st != 200 {
		e.t.Fatalf("login: got %d %v, want 200", st, b)
	}
	return b["token"].(string)
}

const password = "correct horse battery"

// --- the browser ---

// chromium finds the browser, or skips the test (fails it, when
// KEYBOX_TEST_BROWSER=required) with a message saying what to install.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("KEYBOX_TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium found (looked for chromium, chromium-browser and google-chrome on PATH, and KEYBOX_TEST_CHROMIUM): " +
		"install it (apt-get install chromium) to run the dashboard's browser tests"
	if os.Getenv("KEYBOX_TEST_BROWSER") == "required" {
		t.Fatal(msg + "; KEYBOX_TEST_BROWSER=required makes this a failure")
	}
	t.Skip(msg + "; set KEYBOX_TEST_BROWSER=required to make this a failure")
	return ""
}

// tab is one headless Chromium, with a fresh profile, showing one page.
type tab struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	dialogs  []string // JavaScript dialogs that opened (and were dismissed)
	errors   []string // console errors and uncaught exceptions
	requests []sent   // every request the page made
	shots    int
}

// Desktop and phone viewports.
const (
	desktopWidth, desktopHeight = 1280, 900
	phoneWidth, phoneHeight     = 390, 844
)

func newTab(t *testing.T) *tab {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, // tests may run as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(desktopWidth, desktopHeight),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	b := &tab{t: t, ctx: ctx}

	err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *page.EventJavascriptDialogOpening:
			b.mu.Lock()
			b.dialogs = append(b.dialogs, ev.Type.String()+": "+ev.Message)
			b.mu.Unlock()
			go chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		case *network.EventRequestWillBeSent:
			auth, _ := ev.Request.Headers["Authorization"].(string)
			b.mu.Lock()
			b.requests = append(b.requests, sent{url: ev.Request.URL + ev.Request.URLFragment, authorization: auth})
			b.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	console := chromedp.Console(ctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				b.mu.Lock()
				b.errors = append(b.errors, m.String())
				b.mu.Unlock()
			}
		}
	}()

	// The copy button writes to the clipboard; let the test read it back.
	for _, perm := range []browser.PermissionDescriptor{{Name: "clipboard-read"}, {Name: "clipboard-write", AllowWithoutSanitization: true}} {
		if _, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &perm, Setting: browser.PermissionSettingGranted,
		}); err != nil {
			t.Fatalf("grant %s: %v", perm.Name, err)
		}
	}
	t.Cleanup(b.checkConsole)
	return b
}

// expectedConsole are errors the browser logs by itself: for answers the
// dashboard expects and handles (a 404 for another developer's client, a
// 400 for a form to correct), and, over plain HTTP on a LAN address, for
// the isolation header it only honours over HTTPS.
var expectedConsole = regexp.MustCompile(`Failed to load resource: the server responded with a status of 4\d\d|` +
	`The Cross-Origin-Opener-Policy header has been ignored, because the URL's origin was untrustworthy`)

// checkConsole fails the test on any other console error: a script error, or
// the browser refusing something under the Content-Security-Policy.
func (b *tab) checkConsole() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.errors {
		if !expectedConsole.MatchString(m) {
			b.t.Errorf("browser console error: %s", m)
		}
	}
}

// sent is a request as the page sent it.
type sent struct{ url, authorization string }

func (b *tab) requestsSent() []sent {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]sent(nil), b.requests...)
}

func (b *tab) dialogsOpened() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.dialogs...)
}

// do runs actions with a bound on how long they may take.
func (b *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.shot("failed-" + slug(what))
		b.t.Fatalf("%s: %v", what, err)
	}
}

func (b *tab) navigate(url string) { b.t.Helper(); b.do("open "+url, chromedp.Navigate(url)) }
func (b *tab) click(sel string)    { b.t.Helper(); b.do("click "+sel, chromedp.Click(chromedp.CSS(sel))) }

// clickButton clicks, with the mouse, the visible and enabled button or
// link whose text is exactly label, inside scope (a CSS selector; "" for the
// whole page). The element is marked first, so the click finds that one.
func (b *tab) clickButton(scope, label string) {
	b.t.Helper()
	b.waitFor("a button "+label, `(scope, label) => {
		for (const e of document.querySelectorAll("[data-test-click]")) e.removeAttribute("data-test-click");
		const sel = scope ? scope + " button, " + scope + " a" : "button, a";
		const el = [...document.querySelectorAll(sel)]
			.find((e) => e.textContent.trim() === label && e.offsetParent !== null && !e.disabled);
		el?.setAttribute("data-test-click", "");
		return Boolean(el);
	}`, scope, label)
	b.click("[data-test-click]")
}

// fill types into a field, replacing what it held.
func (b *tab) fill(sel, text string) {
	b.t.Helper()
	// chromedp.Clear empties the value attribute, which a field that has
	// been typed into no longer follows; empty the property instead.
	b.do("fill "+sel, chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).value = ""`, sel)),
		chromedp.SendKeys(chromedp.CSS(sel), text))
}

// waitFor polls a JavaScript function of args until it returns true.
func (b *tab) waitFor(what, fn string, args ...any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.PollFunction[bool](fn, chromedp.WithPollingArgs(args...), chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		b.shot("timeout-" + slug(what))
		body, _ := evaluate[string](b, `document.body.innerText`)
		b.t.Fatalf("waiting for %s: %v\npage text:\n%s", what, err, body)
	}
}

// waitText waits until an element matching sel contains text.
func (b *tab) waitText(sel, text string) {
	b.t.Helper()
	b.waitFor(fmt.Sprintf("%q in %s", text, sel),
		`(sel, text) => [...document.querySelectorAll(sel)].some((e) => e.textContent.includes(text))`, sel, text)
}

// waitGone waits until no element matches sel.
func (b *tab) waitGone(sel string) {
	b.t.Helper()
	b.waitFor(sel+" gone", `(sel) => document.querySelector(sel) === null`, sel)
}

func evaluate[T any](b *tab, js string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
}

// eval evaluates an expression (awaiting a promise) and returns its value.
func eval[T any](b *tab, js string) T {
	b.t.Helper()
	v, err := evaluate[T](b, js)
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// text is the visible text of the first element matching sel.
func (b *tab) text(sel string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`document.querySelector(%q)?.innerText ?? ""`, sel))
}

// viewport resizes the page, as a phone (mobile, touch) or a desktop.
func (b *tab) viewport(width, height int64, mobile bool) {
	b.t.Helper()
	var opts []chromedp.EmulateViewportOption
	if mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	b.do("resize", chromedp.EmulateViewport(width, height, opts...))
}

// shot saves a screenshot of the whole page into the test's artifact
// directory (kept with go test -artifacts -outputdir DIR).
func (b *tab) shot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	// Let the page settle: fonts, layout, and the last toast's arrival.
	_, _ = chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))`, chromedp.EvalAwaitPromise))
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	b.mu.Lock()
	b.shots++
	n := b.shots
	b.mu.Unlock()
	path := filepath.Join(b.t.ArtifactDir(), fmt.Sprintf("%02d-%s.png", n, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Errorf("save screenshot: %v", err)
	}
}

// noOverflow fails when the page is wider than the viewport (a phone user
// would have to scroll sideways), naming the widest offenders.
func (b *tab) noOverflow(where string) {
	b.t.Helper()
	wide := eval[[]string](b, `(() => {
		const w = document.documentElement.clientWidth;
		if (document.documentElement.scrollWidth <= w) return [];
		return [...document.querySelectorAll("body *")]
			.filter((e) => e.getBoundingClientRect().right > w + 1)
			.slice(0, 5)
			.map((e) => e.tagName.toLowerCase() + (e.className ? "." + String(e.className).replace(/ /g, ".") : "") + " right=" + Math.round(e.getBoundingClientRect().right));
	})()`)
	if len(wide) > 0 {
		b.shot("overflow-" + slug(where))
		b.t.Errorf("%s: the page is wider than the %dpx viewport; too wide: %v", where, phoneWidth, wide)
	}
}

func slug(s string) string {
	s = strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(s, "-"))
	return strings.Trim(s, "-")
}

// storage returns what the page keeps in localStorage, as one string.
func (b *tab) storage() string {
	b.t.Helper()
	return eval[string](b, `JSON.stringify(localStorage)`)
}
