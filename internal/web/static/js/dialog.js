// Dialogs: modal, focus-trapped (<dialog> opened with showModal makes the
// rest of the page inert), closed by Escape, by their Cancel button or by
// the browser's Back button, and kept, not lost, when the session ends
// while a form in one has been typed into.

import { h, showErrors, onValidSubmit } from "./ui.js";

let uid = 0;

// The open dialogs, innermost last; and the forms put aside when the
// session ended, to be shown again once the same person logs in.
const stack = [];
let suspended = [];
let suspendedFor = "";

// Each dialog adds a history entry, so that Back closes it instead of
// leaving the page; closing it otherwise takes the entry away again.
window.addEventListener("popstate", () => {
  const at = history.state?.keyboxDialog;
  for (let i = stack.length - 1; i >= 0; i--) {
    const d = stack[i];
    if (d.marker === at) break;
    if (!d.marker) continue;
    d.marker = "";
    if (d.leaving) d.leaving();
    else d.finish(undefined);
  }
});

// modal opens a dialog. build(close) returns its content; close(result)
// closes it. It resolves with the result (undefined when dismissed) and
// gives the focus back to where it was. options: role ("alertdialog"),
// history (false: Back does not close it), dirty() (true when closing it
// would lose what was typed).
export function modal(title, build, options = {}) {
  return new Promise((resolve) => {
    const back = document.activeElement;
    const id = `d${++uid}`;
    const dialog = h("dialog", { "aria-labelledby": id, role: options.role });
    const entry = { dialog, title, marker: "", leaving: null, dirty: options.dirty || (() => false), onResume: options.onResume };
    let settled = false;

    const settle = (value) => {
      if (settled) return;
      settled = true;
      const i = stack.indexOf(entry);
      if (i >= 0) stack.splice(i, 1);
      if (dialog.open) dialog.close();
      dialog.remove();
      if (back && back.isConnected) back.focus();
      resolve(value);
    };
    // finish closes the dialog with a result, first taking its history
    // entry away (and waiting for that), so that whatever the caller does
    // next (a new view, a refresh) happens on the page's own entry.
    entry.finish = (value) => {
      if (settled) return;
      if (entry.marker && history.state?.keyboxDialog === entry.marker) {
        entry.leaving = () => settle(value);
        history.back();
        return;
      }
      entry.marker = "";
      settle(value);
    };
    entry.drop = () => settle(undefined);
    entry.push = () => {
      if (options.history === false) return;
      entry.marker = id;
      history.pushState({ ...(history.state || {}), keyboxDialog: id }, "");
    };

    dialog.addEventListener("keydown", keepFocus);
    dialog.addEventListener("cancel", (e) => {
      e.preventDefault(); // closed through finish, with its history entry
      entry.finish(undefined);
    });
    dialog.append(h("div", { class: "dialog-body" }, h("h2", { id }, title), build(entry.finish)));
    document.body.append(dialog);
    stack.push(entry);
    dialog.showModal();
    entry.push();
  });
}

// keepFocus wraps Tab around the dialog's controls: a modal dialog makes
// the page inert, but Tab from its last control would still leave it for
// the browser's own controls.
function keepFocus(e) {
  if (e.key !== "Tab") return;
  const dialog = e.currentTarget;
  const all = [...dialog.querySelectorAll('a[href], button, input:not([type="hidden"]), select, textarea, [tabindex]:not([tabindex="-1"])')]
    .filter((el) => !el.disabled && el.offsetParent !== null);
  if (all.length === 0) return;
  const first = all[0];
  const last = all[all.length - 1];
  if (e.shiftKey && document.activeElement === first) {
    e.preventDefault();
    last.focus();
  } else if (!e.shiftKey && document.activeElement === last) {
    e.preventDefault();
    first.focus();
  }
}

// openDialogs says how many dialogs are open (the session warning counts
// the forms among them).
export function openForms() {
  return stack.filter((d) => d.dirty()).map((d) => d.title);
}

// suspendDialogs is called when the session ends: a form that was typed
// into is put aside for person (an account id), anything else dismissed.
// It returns the titles of the forms put aside.
export function suspendDialogs(person) {
  const kept = [];
  for (const d of [...stack].reverse()) {
    if (person && d.dirty()) {
      stack.splice(stack.indexOf(d), 1);
      d.marker = "";
      if (d.dialog.open) d.dialog.close();
      d.dialog.remove();
      for (const p of d.dialog.querySelectorAll('input[type="password"]')) p.value = "";
      kept.unshift(d);
    } else {
      d.marker = "";
      d.drop();
    }
  }
  suspended = kept;
  suspendedFor = kept.length ? person : "";
  return kept.map((d) => d.title);
}

// resumeDialogs shows the forms put aside again, if person is the one they
// were kept for; otherwise they are forgotten. It returns how many it showed.
export function resumeDialogs(person) {
  const list = suspended;
  const mine = person && person === suspendedFor;
  suspended = [];
  suspendedFor = "";
  if (!mine) {
    for (const d of list) d.drop();
    return 0;
  }
  for (const d of list) {
    document.body.append(d.dialog);
    stack.push(d);
    d.dialog.showModal();
    d.push();
    d.onResume?.();
  }
  return list.length;
}

export function suspendedForms() {
  return suspended.map((d) => d.title);
}

// confirm asks a yes/no question; it resolves true only on the confirming button.
export function confirm({ title, message, confirmLabel, danger = true, extra }) {
  return modal(title, (close) => {
    const cancel = h("button", { type: "button", class: "btn btn-secondary", onclick: () => close(false) }, "Cancel");
    const ok = h("button", { type: "button", class: danger ? "btn btn-danger" : "btn", onclick: () => close(true) }, confirmLabel);
    const body = [].concat(message).map((m) => h("p", null, m));
    queueMicrotask(() => cancel.focus());
    return h("div", { class: "form" }, body, extra, h("div", { class: "form-actions" }, cancel, ok));
  }).then(Boolean);
}

// formDialog shows a form; submit(values) runs on submit and its answer
// closes the dialog. Every field's problem shows at once: first those the
// page can see (a required field left empty, an address that is not one),
// then, for what it could not, the server's, each next to its field.
export function formDialog({ title, fields, submitLabel, submit, intro, extra, bindClose }) {
  let dirty = false;
  let restored = null;
  return modal(title, (close) => {
    bindClose?.(close);
    const button = h("button", { type: "submit", class: "btn" }, submitLabel);
    restored = h("p", { class: "notice", role: "status", hidden: true }, "Your session had ended. What you typed was kept: check it and send it again.");
    const form = h("form", { class: "form", novalidate: true },
      restored,
      intro ? h("p", { class: "muted" }, intro) : null,
      fields,
      h("p", { class: "form-error field-error", role: "alert", tabindex: "-1" }),
      extra,
      h("div", { class: "form-actions" },
        h("button", { type: "button", class: "btn btn-secondary", onclick: () => close(undefined) }, "Cancel"),
        button));
    form.addEventListener("input", () => { dirty = true; });
    form.addEventListener("change", () => { dirty = true; });
    onValidSubmit(form, button, async (v) => close(await submit(v, form)), (err) => {
      if (err.status !== 401) showErrors(form, err); // the session has ended: the form is kept
    });
    return form;
  }, {
    dirty: () => dirty,
    onResume: () => { if (restored) restored.hidden = false; },
  });
}
