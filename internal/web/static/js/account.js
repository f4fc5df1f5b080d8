// The account page: one's name and address, one's password (an account
// made through a sign-in provider sets its first without a current one),
// and logging out everywhere.

import { api, seg, session, adoptToken, updateUser, endSession } from "./api.js";
import { h, input, notify, showErrors, onValidSubmit, guard } from "./ui.js";
import { confirm } from "./dialog.js";

export async function accountPage(view) {
  const me = await api("GET", "/auth/me");
  const u = me.user;
  return [
    h("div", { class: "page-head" },
      h("div", null, h("h1", null, "Your account"),
        h("p", { class: "sub" }, `${u.email} · ${u.role === "ADMIN" ? "Administrator" : "Developer"}`))),
    section("profile-h", "Name and email address", profileForm(u, view)),
    section("password-h", me.hasPassword ? "Change your password" : "Set a password", passwordForm(me.hasPassword, view)),
    section("everywhere-h", "Log out everywhere", h("div", { class: "form" },
      h("p", { class: "muted" }, "Ends every session of your account: in every browser, and the command line's. Use it if you lost a device or left a session open somewhere."),
      h("div", { class: "form-actions" },
        h("button", { type: "button", class: "btn btn-danger-quiet", onclick: guard(logoutEverywhere) }, "Log out everywhere")))),
  ];
}

function section(id, title, body) {
  return h("section", { class: "panel", "aria-labelledby": id }, h("h2", { id }, title), body);
}

// pageForm is a form of the page (not a dialog) sent with submit(values).
function pageForm(fields, label, submit) {
  const button = h("button", { type: "submit", class: "btn" }, label);
  const form = h("form", { class: "form", novalidate: true },
    fields,
    h("p", { class: "form-error field-error", role: "alert", tabindex: "-1" }),
    h("div", { class: "form-actions" }, button));
  onValidSubmit(form, button, (v) => submit(v, form), (err) => {
    if (err.status !== 401) showErrors(form, err); // the session has ended: the form is kept
  });
  return form;
}

function profileForm(u) {
  return pageForm([
    h("div", { class: "fields-row" },
      input({ name: "name", label: "Name", value: u.name, autocomplete: "name", required: true }),
      input({ name: "email", label: "Email address", type: "email", value: u.email, autocomplete: "email", required: true })),
  ], "Save", async (v) => {
    const res = await api("PATCH", `/auth/users/${seg(u._id)}`, { name: v.name, email: v.email });
    updateUser({ name: res.user.name, email: res.user.email });
    notify("Your account is saved.", "success");
  });
}

function passwordForm(hasPassword, view) {
  const fields = [];
  if (hasPassword) {
    fields.push(input({ name: "currentPassword", label: "Current password", type: "password", autocomplete: "current-password", required: true }));
  } else {
    fields.push(h("p", { class: "muted" }, "You sign in through a provider, so your account has no password yet. Set one to log in with your email address as well."));
  }
  fields.push(h("div", { class: "fields-row" },
    input({ name: "password", label: "New password", type: "password", autocomplete: "new-password", hint: "At least 8 characters.", required: true, attrs: { "data-minlength": "8" } }),
    input({ name: "confirm_password", label: "Repeat the new password", type: "password", autocomplete: "new-password", required: true, attrs: { "data-match": "password" } })));
  return pageForm(fields, hasPassword ? "Change password" : "Set password", async (v, form) => {
    const body = { password: v.password, confirm_password: v.confirm_password };
    if (hasPassword) body.currentPassword = v.currentPassword;
    const res = await api("PATCH", "/auth/password", body);
    adoptToken(res.token); // every other session of the account has ended
    form.reset();
    notify("Password saved. Your other sessions have ended.", "success");
    if (!hasPassword) view.refresh();
  });
}

async function logoutEverywhere() {
  const ok = await confirm({
    title: "Log out everywhere?",
    message: "Every session of your account ends, this one too: in every browser and on the command line.",
    confirmLabel: "Log out everywhere",
  });
  if (!ok || !session()) return;
  await api("POST", "/auth/logout-all");
  endSession("logout-all");
}
