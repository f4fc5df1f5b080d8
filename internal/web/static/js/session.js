// Keeping a session alive while its person works, and ending it when they
// have gone: the login token is renewed (POST /auth/refresh) once less than
// a third of its life is left, if the person has done something since it
// was issued; without that, a dialog warns shortly before it ends and
// offers to stay signed in.

import { session, refresh, endSession, onSessionChange } from "./api.js";
import { h, notify } from "./ui.js";
import { modal, openForms } from "./dialog.js";

const WARN_BEFORE = 2 * 60 * 1000; // at most; a third of the token's life if that is less
const TICK = 1000;

let lastActivity = 0;
let warning = null; // {close, countdown} while the warning is shown

// Anything the person does with the page counts, except in the warning
// itself (choosing "Log out" there is no reason to renew).
function activity(e) {
  if (warning && e.target instanceof Node && warning.dialog?.contains(e.target)) return;
  lastActivity = Date.now();
}
for (const type of ["pointerdown", "keydown", "wheel", "touchstart"]) {
  document.addEventListener(type, activity, { capture: true, passive: true });
}

function tick() {
  const s = session();
  if (!s) {
    hideWarning();
    return;
  }
  const now = Date.now();
  const left = s.expiresAt - now;
  if (left <= 0) {
    hideWarning();
    endSession("expired");
    return;
  }
  const life = s.life || left;
  const issued = s.issuedAt || s.expiresAt - life;
  if (lastActivity > issued && left < life / 3) {
    refresh();
    return;
  }
  if (left <= Math.min(WARN_BEFORE, life / 3) && lastActivity <= issued) showWarning(s);
  else hideWarning();
  warning?.countdown(left);
}

function clockText(ms) {
  const sec = Math.max(0, Math.ceil(ms / 1000));
  const m = Math.floor(sec / 60);
  return m > 0 ? `${m}:${String(sec % 60).padStart(2, "0")}` : `${sec} seconds`;
}

function showWarning(s) {
  if (warning) return;
  const forms = openForms();
  const left = h("strong", { class: "countdown" }, clockText(s.expiresAt - Date.now()));
  warning = { countdown: (ms) => { left.textContent = clockText(ms); } };
  modal("Are you still there?", (close) => {
    warning.close = close;
    const stay = h("button", { type: "button", class: "btn", "data-focus": "stay", onclick: () => close("stay") }, "Stay signed in");
    queueMicrotask(() => stay.focus());
    return h("div", { class: "form" },
      h("p", null, "For your security, your session ends in ", left, " unless you carry on."),
      forms.length ? h("p", null, `What you typed in “${forms[0]}” is kept if it ends: log in again to send it.`) : null,
      h("div", { class: "form-actions" },
        h("button", { type: "button", class: "btn btn-secondary", onclick: () => close("logout") }, "Log out"),
        stay));
  }, { role: "alertdialog", history: false }).then(async (choice) => {
    warning = null;
    if (choice === "logout") {
      endSession("logout");
    } else if (choice === "stay") {
      lastActivity = Date.now();
      if (!await refresh() && session()) notify("The session could not be renewed. Save your work and log in again.", "error");
    }
  });
  warning.dialog = [...document.querySelectorAll("dialog")].pop();
}

function hideWarning() {
  if (warning?.close) warning.close(undefined);
}

// A token renewed in another tab (or here) hides the warning.
onSessionChange((reason) => {
  if (reason !== "refresh") hideWarning();
  else if (warning) hideWarning();
});

setInterval(tick, TICK);
