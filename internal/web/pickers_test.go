package web_test

import (
	"fmt"
	"slices"

	"github.com/chromedp/chromedp"
)

// combobox is the selector of the search box of the picker named name.
func combobox(scope, name string) string {
	return fmt.Sprintf(`%s .field[data-field=%q] input[role="combobox"]`, scope, name)
}

// options types into a picker's box and returns the options it then lists,
// once the search has answered.
func (b *tab) options(scope, name, typed string) []string {
	b.t.Helper()
	box := combobox(scope, name)
	b.typeIn(box, typed)
	b.waitFor("the options of "+name, `(box) => {
		const el = document.querySelector(box);
		const list = document.getElementById(el.getAttribute("aria-controls"));
		return el.getAttribute("aria-expanded") === "true" && !list.hidden && list.dataset.q === el.value.trim();
	}`, box)
	return eval[[]string](b, fmt.Sprintf(`[...document.getElementById(document.querySelector(%q).getAttribute("aria-controls")).querySelectorAll('[role="option"] .combo-name')].map((e) => e.textContent)`, box))
}

// typeIn focuses a box and types text into it, replacing what it held.
func (b *tab) typeIn(sel, text string) {
	b.t.Helper()
	b.do("focus "+sel, chromedp.Focus(chromedp.CSS(sel)),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = ""; e.dispatchEvent(new Event("input")); })()`, sel)))
	if text != "" {
		b.do("type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), text))
	}
}

// pick searches a picker for typed and clicks the option named option.
func (b *tab) pick(scope, name, typed, option string) {
	b.t.Helper()
	if got := b.options(scope, name, typed); !slices.Contains(got, option) {
		b.t.Fatalf("picker %s searched for %q offers %v, not %q", name, typed, got, option)
	}
	b.waitFor("option "+option, `(box, text) => {
		for (const e of document.querySelectorAll("[data-test-click]")) e.removeAttribute("data-test-click");
		const el = document.querySelector(box);
		const o = [...document.getElementById(el.getAttribute("aria-controls")).querySelectorAll('[role="option"]')]
			.find((o) => o.querySelector(".combo-name").textContent === text);
		o?.setAttribute("data-test-click", "");
		return Boolean(o);
	}`, combobox(scope, name), option)
	b.click("[data-test-click]")
}
