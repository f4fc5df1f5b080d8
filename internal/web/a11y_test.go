package web_test

import (
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// Accessibility checks. axe-core, when KEYBOX_TEST_AXE names its
// axe.min.js (CI fetches the npm package for the tests; nothing of it is
// committed), checks the WCAG 2.1 A and AA rules it knows; the checks below
// run always: every control has a label, no id is used twice, a dialog
// keeps the focus inside itself.

var axeSource = sync.OnceValues(func() (string, error) {
	path := os.Getenv("KEYBOX_TEST_AXE")
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	return string(b), err
})

// accessible runs the checks on what the page shows now.
func (b *tab) accessible(where string) {
	b.t.Helper()
	b.labelled("body")
	src, err := axeSource()
	if err != nil {
		b.t.Fatalf("KEYBOX_TEST_AXE: %v", err)
	}
	if src == "" {
		return
	}
	if !eval[bool](b, `typeof window.axe === "object"`) {
		// Evaluated through the debugging protocol, which the page's
		// Content-Security-Policy does not govern.
		b.do("load axe", chromedp.Evaluate[chromedp.Void](src))
	}
	found := eval[[]string](b, `axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } })
		.then((r) => r.violations.map((v) => v.id + " (" + v.impact + "): " + v.help + " at " + v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join("; ")))`)
	if len(found) > 0 {
		b.shot("axe-" + slug(where))
		b.t.Errorf("%s: axe found:\n  %s", where, strings.Join(found, "\n  "))
	}
}

// focusTrapped presses Tab and Shift+Tab through the open dialog and fails
// if the focus ever leaves it.
func (b *tab) focusTrapped(where string) {
	b.t.Helper()
	n := eval[int](b, `document.querySelectorAll("dialog[open] button, dialog[open] input:not([type=hidden]), dialog[open] select, dialog[open] textarea, dialog[open] a[href]").length`)
	for i := 0; i < n+2; i++ {
		b.do("tab", chromedp.KeyEvent(kb.Tab))
		if !eval[bool](b, `document.querySelector("dialog[open]")?.contains(document.activeElement) ?? false`) {
			b.t.Fatalf("%s: Tab %d moved the focus out of the dialog, to %s", where, i+1, eval[string](b, `document.activeElement?.outerHTML.slice(0, 80) ?? "nothing"`))
		}
	}
	for i := 0; i < n+2; i++ {
		b.do("shift+tab", chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)))
		if !eval[bool](b, `document.querySelector("dialog[open]")?.contains(document.activeElement) ?? false`) {
			b.t.Fatalf("%s: Shift+Tab %d moved the focus out of the dialog", where, i+1)
		}
	}
}

// countRequests counts the requests sent since mark (an index into the
// requests) to the API path path, or below it when path ends with "/".
func (b *tab) countRequests(mark int, path string) int {
	n := 0
	for _, r := range b.requestsSent()[mark:] {
		u, err := url.Parse(r.url)
		if err != nil {
			continue
		}
		if u.Path == path || strings.HasSuffix(path, "/") && strings.HasPrefix(u.Path, path) {
			n++
		}
	}
	return n
}

func (b *tab) mark() int { return len(b.requestsSent()) }
