// Building blocks of the page. Every string, and above all every string that
// came from the server, enters the page as text (text nodes, textContent,
// attribute values): nothing here ever parses a string as HTML.

// h creates an element. props: "class", "text", on<event> listeners, "value"
// and "checked" (set as properties, after the children), and any attribute.
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  append(el, children);
  setProps(el, props);
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

// svg creates an SVG element; its props are attributes.
export function svg(tag, props, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function setProps(el, props) {
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k === "value") el.value = v;
    else if (k === "checked") el.checked = Boolean(v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// --- words and numbers ---

const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dayFmt = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", timeZone: "UTC" });
const fullDayFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });
const relFmt = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const numFmt = new Intl.NumberFormat();

export const num = (n) => numFmt.format(n);

// time renders an instant as a <time> element, or a dash when there is none.
export function time(iso, withTime = false) {
  if (!iso) return h("span", { class: "muted" }, "—");
  const d = new Date(iso);
  return h("time", { datetime: iso, title: dateTimeFmt.format(d) }, (withTime ? dateTimeFmt : dateFmt).format(d));
}

// relative says how far an instant is from now ("in 12 days", "3 months ago").
export function relative(iso) {
  const days = Math.round((new Date(iso).getTime() - Date.now()) / 86400000);
  if (Math.abs(days) < 60) return relFmt.format(days, "day");
  const months = Math.round(days / 30.44);
  if (Math.abs(months) < 24) return relFmt.format(months, "month");
  return relFmt.format(Math.round(days / 365.25), "year");
}

// day formats a UTC calendar day ("2026-03-01"), short or long.
export function day(date, long = false) {
  return (long ? fullDayFmt : dayFmt).format(new Date(`${date}T00:00:00Z`));
}

export function plural(n, one, many) {
  return `${num(n)} ${n === 1 ? one : many}`;
}

// --- pieces ---

export function badge(status) {
  return h("span", { class: `badge badge-${status}` }, status);
}

export function keyLink(key) {
  return h("a", { class: "key", href: `#/licenses/${encodeURIComponent(key)}`, "data-key": key }, key);
}

// copyButton copies a license key (or, named by what, another secret), with
// a fallback for pages served over plain HTTP on a LAN address, where
// browsers offer no Clipboard API.
export function copyButton(key, what = "key") {
  const label = what === "key" ? `Copy key ${key}` : `Copy the ${what}`;
  const b = h("button", { type: "button", class: "btn btn-secondary btn-small copy", "data-copy": key, "aria-label": label }, "Copy");
  b.addEventListener("click", async () => {
    const ok = await copyText(key);
    b.focus();
    if (ok) {
      b.textContent = "Copied";
      setTimeout(() => { b.textContent = "Copy"; }, 2000);
      notify(`${what.charAt(0).toUpperCase() + what.slice(1)} copied to the clipboard.`, "success");
    } else {
      notify(`The browser did not allow copying. Select the ${what} and copy it by hand.`, "error");
    }
  });
  return b;
}

async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // Fall through to the selection.
    }
  }
  const area = h("textarea", { class: "offscreen", readonly: true, "aria-hidden": "true" });
  area.value = text;
  document.body.append(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}

// notify shows a short message that screen readers announce. With an
// action ({label, run}), the message has a button (Undo) and stays longer,
// and as long as the pointer or the focus is on it.
export function notify(message, kind = "info", action) {
  const box = document.getElementById("toasts");
  const t = h("div", { class: `toast toast-${kind}${action ? " toast-action" : ""}`, role: kind === "error" ? "alert" : undefined },
    h("span", null, message));
  if (action) {
    t.append(h("button", {
      type: "button", class: "btn btn-small btn-toast", "aria-label": action.aria || action.label,
      onclick: () => { t.remove(); action.run(); },
    }, action.label));
  }
  box.append(t);
  while (box.children.length > 3) box.firstElementChild.remove();
  let timer = 0;
  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (t.matches(":hover, :focus-within")) later();
      else t.remove();
    }, action ? 10000 : kind === "error" ? 9000 : 5000);
  };
  later();
  return t;
}

// emptyState says there is nothing here yet and offers the next action:
// buttons built by the caller.
export function emptyState(message, ...actions) {
  return h("div", { class: "panel empty-state" },
    h("p", null, message),
    actions.length ? h("div", { class: "actions" }, actions) : null);
}

// errorNotice is an error shown in the page, in words.
export function errorNotice(err) {
  return h("p", { class: "notice notice-error", role: "alert" }, err.message || String(err));
}

// table builds a table that turns into labelled cards on a phone.
// columns: [{label, cell(row) → node|string, class, head (the heading's
// content, when not the label), sort (its aria-sort)}]
export function table(caption, columns, rows) {
  return h("div", { class: "table-wrap" },
    h("table", { class: "cards" },
      h("caption", { class: "sr-only" }, caption),
      h("thead", null, h("tr", null, columns.map((c) => h("th", { scope: "col", class: c.class, "aria-sort": c.sort },
        c.head || (c.label ? c.label : h("span", { class: "sr-only" }, "Actions")))))),
      h("tbody", null, rows.map((r) => h("tr", null, columns.map((c) => h("td", { "data-label": c.label, class: c.class }, c.cell(r))))))));
}

// pager says which rows are shown and offers the pages around them; an
// empty list has an empty state instead, never "0–0 of 0".
export function pager(data, go) {
  if (data.total === 0) return null;
  const pages = Math.max(1, Math.ceil(data.total / data.limit));
  const first = data.total === 0 ? 0 : (data.page - 1) * data.limit + 1;
  const last = Math.min(data.total, data.page * data.limit);
  const prev = h("button", { type: "button", class: "btn btn-secondary btn-small", disabled: data.page <= 1, onclick: () => go(data.page - 1) }, "Previous page");
  const next = h("button", { type: "button", class: "btn btn-secondary btn-small", disabled: data.page >= pages, onclick: () => go(data.page + 1) }, "Next page");
  return h("div", { class: "pager" },
    h("p", null, `Showing ${num(first)}–${num(last)} of ${num(data.total)}`),
    pages > 1 ? h("div", { class: "actions" }, prev, h("span", null, `Page ${num(data.page)} of ${num(pages)}`), next) : null);
}

// guard runs an action started by a click and reports its failure in words.
export function guard(fn) {
  return async (...args) => {
    try {
      await fn(...args);
    } catch (err) {
      if (err.status !== 401) notify(err.message, "error");
    }
  };
}

// seatsText says how many seats a license holds of its maximum ("1 of 3
// seats in use"), or only the maximum where the count is not known.
export function seatsText(l) {
  if (typeof l.seatsInUse !== "number") return plural(l.maxMachines, "seat", "seats");
  return `${num(l.seatsInUse)} of ${plural(l.maxMachines, "seat", "seats")} in use`;
}

// licenseSummary is one line about a license's term and seats.
export function licenseSummary(l) {
  const seats = seatsText(l);
  if (!l.activatedAt) return `${plural(l.duration, "month", "months")} from activation · ${seats}`;
  const ends = new Date(l.expiresAt).toLocaleDateString(undefined, { dateStyle: "medium" });
  return `${l.status === "EXPIRED" ? "Expired" : "Expires"} ${ends} · ${seats}`;
}

// --- forms ---

let uid = 0;

function fieldBox(name, label, control, hint, id) {
  const err = h("p", { class: "field-error", id: `${id}-error`, hidden: true });
  control.setAttribute("aria-describedby", hint ? `${id}-hint ${id}-error` : `${id}-error`);
  return h("div", { class: "field", "data-field": name },
    h("label", { for: id }, label),
    hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null,
    control, err);
}

// input is a labelled text field with room for its error.
export function input({ name, label, type = "text", value = "", hint, autocomplete, required, attrs = {} }) {
  const id = `f${++uid}`;
  const el = h("input", { id, name, type, value, autocomplete, required, "aria-required": required ? "true" : undefined, "data-label": label, ...attrs });
  return fieldBox(name, label, el, hint, id);
}

// newId is a fresh id for an element (no two in the page alike).
export function newId(prefix = "u") {
  return `${prefix}${++uid}`;
}

// select is a labelled drop-down; options are [value, label] pairs.
export function select({ name, label, options, value = "", hint, attrs = {} }) {
  const id = `f${++uid}`;
  // A value that is not among the options would leave nothing selected.
  const known = options.some(([v]) => v === value);
  const el = h("select", { id, name, value: known ? value : undefined, ...attrs }, options.map(([v, l]) => h("option", { value: v }, l)));
  return fieldBox(name, label, el, hint, id);
}

// textarea is a labelled multi-line field.
export function textarea({ name, label, value = "", hint, attrs = {} }) {
  const id = `f${++uid}`;
  const el = h("textarea", { id, name, rows: "4", ...attrs });
  el.value = value;
  return fieldBox(name, label, el, hint, id);
}

// checkbox is one labelled checkbox; values() reads it as [] or ["on"].
export function checkbox({ name, label, checked = false, hint }) {
  const id = `f${++uid}`;
  const el = h("input", { id, name, type: "checkbox", checked });
  const err = h("p", { class: "field-error", id: `${id}-error`, hidden: true });
  el.setAttribute("aria-describedby", hint ? `${id}-hint ${id}-error` : `${id}-error`);
  return h("div", { class: "field", "data-field": name },
    h("label", { class: "check", for: id }, el, label),
    hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null,
    err);
}

// codesOf reads entitlement codes typed as a list: separated by commas or
// spaces, each once.
export function codesOf(text) {
  return [...new Set(String(text).split(/[\s,]+/).filter(Boolean))];
}

// leaseText says how long a lease is ("5 minutes", "1 hour 30 minutes").
export function leaseText(seconds) {
  const parts = [];
  const units = [[86400, "day", "days"], [3600, "hour", "hours"], [60, "minute", "minutes"], [1, "second", "seconds"]];
  for (const [size, one, many] of units) {
    const n = Math.floor(seconds / size);
    if (n > 0) parts.push(plural(n, one, many));
    seconds -= n * size;
  }
  return parts.slice(0, 2).join(" ");
}

// checks is a group of checkboxes sharing a name.
export function checks({ name, label, options, checked = [] }) {
  const id = `f${++uid}`;
  const box = h("fieldset", { class: "field", "data-field": name, "aria-describedby": `${id}-error` },
    h("legend", null, label),
    h("div", { class: "checks" }, options.map(([v, l]) =>
      h("label", { class: "check" }, h("input", { type: "checkbox", name, value: v, checked: checked.includes(v) }), l))),
    h("p", { class: "field-error", id: `${id}-error`, hidden: true }));
  return box;
}

export const durationOptions = Array.from({ length: 12 }, (_, i) => [String(i + 1), i === 0 ? "1 month" : `${i + 1} months`]);
export const serviceOptions = [["Hosting", "Hosting"], ["Domain", "Domain"]];

// values reads a form: one string per name, or an array for checkbox groups.
export function values(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name) continue;
    if (el.type === "checkbox") {
      out[el.name] ??= [];
      if (el.checked) out[el.name].push(el.value);
    } else {
      out[el.name] = el.value;
    }
  }
  return out;
}

// checkForm finds, at once, every problem the page can see before sending
// a form: required fields left empty, an address that is not one, a number
// out of its range, a repeated password that differs. It returns them as an
// error to show (see showErrors), or null.
export function checkForm(form) {
  const fields = {};
  for (const el of form.querySelectorAll("input, select, textarea")) {
    const name = el.name || el.dataset.field;
    if (!name || fields[name] || el.disabled || el.type === "checkbox") continue;
    const v = el.value.trim();
    const label = el.dataset.label || name;
    if (el.required && v === "") fields[name] = `${label} is required.`;
    else if (v && el.type === "email" && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v)) fields[name] = "Must be a valid email address.";
    else if (v && el.type === "number" && el.min && el.max && !(Number.isInteger(Number(v)) && Number(v) >= Number(el.min) && Number(v) <= Number(el.max))) {
      fields[name] = `Enter a whole number from ${el.min} to ${el.max}.`;
    } else if (v && el.dataset.minlength && el.value.length < Number(el.dataset.minlength)) {
      fields[name] = `Use at least ${el.dataset.minlength} characters.`;
    } else if (el.dataset.match && el.value !== (form.elements[el.dataset.match]?.value ?? "")) {
      fields[name] = "Passwords do not match.";
    }
  }
  return Object.keys(fields).length ? { message: "Please correct the fields marked below.", fields } : null;
}

export function clearErrors(form) {
  for (const box of form.querySelectorAll(".field")) {
    box.classList.remove("invalid");
    const e = box.querySelector(".field-error");
    if (e) { e.textContent = ""; e.hidden = true; }
    for (const c of box.querySelectorAll("input, select, textarea")) c.removeAttribute("aria-invalid");
  }
  const general = form.querySelector(".form-error");
  if (general) general.textContent = "";
}

// showErrors puts each field's error next to it and the rest above the
// buttons, then moves the focus to the first field to fix.
export function showErrors(form, err) {
  clearErrors(form);
  let first = null;
  let placed = 0;
  for (const [name, message] of Object.entries(err.fields || {})) {
    const box = form.querySelector(`.field[data-field="${CSS.escape(name)}"]`);
    if (!box) continue;
    placed++;
    box.classList.add("invalid");
    const e = box.querySelector(".field-error");
    e.textContent = message;
    e.hidden = false;
    const control = box.querySelector("input:not([type=hidden]), select, textarea");
    control.setAttribute("aria-invalid", "true");
    first ??= control;
  }
  // A field's error is read with its field (aria-describedby); anything
  // else goes above the buttons.
  const general = form.querySelector(".form-error");
  if (general) general.textContent = placed ? "" : err.message;
  (first || general)?.focus();
}

// onValidSubmit sends a form once every field passes checkForm (the
// problems are shown otherwise, all at once): send(values) runs with the
// button disabled, and its failure goes to failed(err), by default shown
// on the form.
export function onValidSubmit(form, button, send, failed = (err) => showErrors(form, err)) {
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const problems = checkForm(form);
    if (problems) {
      showErrors(form, problems);
      return;
    }
    clearErrors(form);
    button.disabled = true;
    try {
      await send(values(form));
    } catch (err) {
      failed(err);
    } finally {
      button.disabled = false;
    }
  });
}

// --- dialogs (in dialog.js, offered here too) ---

export { modal, confirm, formDialog } from "./dialog.js";
