// Logging in and signing up.

import { api, apiURL, login, ApiError } from "./api.js";
import { h, input, showErrors, onValidSubmit } from "./ui.js";

// Why a sign-in through a provider failed, by the reason code the server
// put in the address. Only these sentences are ever shown: the address is
// anyone's to write, so its text never reaches the page.
const signInFailures = new Map([
  ["cancelled", "Sign-in was cancelled. You can try again, or log in with your password."],
  ["refused", "The sign-in provider did not accept the sign-in. Please try again; if it keeps happening, ask your administrator."],
  ["expired", "The sign-in took too long, or was started in another browser. Please try again."],
  ["state", "The sign-in could not be matched to one started in this browser, so it was stopped. Please try again."],
  ["token", "The sign-in provider's answer could not be verified. Please try again; if it keeps happening, ask your administrator to check the sign-in settings."],
  ["unavailable", "The sign-in provider cannot be reached right now. Please try again later, or log in with your password."],
  ["not_configured", "That way of signing in is not set up on this KeyBox."],
  ["signup_closed", "There is no account for you on this KeyBox, and new accounts are closed. Ask your administrator to create one."],
  ["email_in_use", "An account with your email address already exists, but the provider has not confirmed that the address is yours. Log in with your password instead."],
  ["email_missing", "The provider did not share your email address, and a KeyBox account needs one. Allow KeyBox to see your address at the provider and try again."],
  ["code", "This sign-in has expired or was already used. Please sign in again."],
  ["failed", "Signing in did not work because of a problem on the server. Please try again."],
]);

export function signInFailure(reason) {
  return signInFailures.get(reason) || "Signing in did not work. Please try again.";
}

// providerButtons fills a list with a "Sign in with …" link for each
// configured provider, once the server has said which there are.
function providerButtons() {
  const list = h("div", { class: "providers", hidden: true });
  api("GET", "/auth/providers").then((res) => {
    const providers = (res.providers || []).filter((p) => typeof p.url === "string" && p.url.startsWith("/auth/"));
    list.dataset.loaded = "true";
    if (providers.length === 0) return;
    list.replaceChildren(
      h("p", { class: "divider" }, h("span", null, "or")),
      ...providers.map((p) => h("a", { class: "btn btn-secondary btn-provider", href: apiURL(p.url), "data-provider": p.id }, `Sign in with ${p.name}`)));
    list.hidden = false;
  }, () => {
    // Without the list, the password form still works.
    list.dataset.loaded = "true";
  });
  return list;
}

function authForm({ title, intro, fields, submitLabel, onSubmit, footer, message, error, extra, notice }) {
  const button = h("button", { type: "submit", class: "btn" }, submitLabel);
  const form = h("form", { class: "form", novalidate: true },
    fields,
    h("p", { class: "form-error field-error", role: "alert", tabindex: "-1" }),
    h("div", { class: "form-actions" }, button));
  onValidSubmit(form, button, onSubmit,
    (err) => showErrors(form, err instanceof ApiError ? err : { message: String(err), fields: {} }));
  return h("section", { class: "auth" },
    h("div", { class: "panel" },
      h("div", null, h("h1", null, title), h("p", { class: "muted" }, intro)),
      message ? h("p", { class: "notice", role: "status" }, message) : null,
      error ? h("p", { class: "notice notice-error", role: "alert" }, error) : null,
      notice,
      form,
      extra),
    h("p", { class: "switch" }, footer));
}

export function loginPage({ message, done, params, signup }) {
  const reason = params?.get("error");
  if (reason) history.replaceState(null, "", "#/login");
  const closed = signup?.signup === "closed";
  return authForm({
    title: "Log in",
    intro: "Manage your clients, projects and license keys.",
    message,
    error: reason ? signInFailure(reason) : "",
    notice: closed && signup.hasAccounts === false ? firstAccountByOperator() : null,
    extra: providerButtons(),
    submitLabel: "Log in",
    fields: [
      input({ name: "email", label: "Email address", type: "email", autocomplete: "username", required: true }),
      input({ name: "password", label: "Password", type: "password", autocomplete: "current-password", required: true }),
    ],
    onSubmit: async (v) => {
      await login(v.email, v.password);
      await done();
    },
    footer: closed
      ? "New accounts are made by your administrator."
      : ["New to this KeyBox? ", h("a", { href: "#/signup" }, "Create an account")],
  });
}

// firstAccountByOperator says how a KeyBox with signup closed gets its
// first account.
function firstAccountByOperator() {
  return h("div", { class: "notice", role: "status" },
    h("p", null, "This KeyBox has no accounts yet, and signing up is closed. Its operator makes the first one on the server:"),
    h("pre", { class: "command" }, "keybox users create --admin --name \"Your name\" --email you@example.com"));
}

export function signupPage({ done, signup }) {
  if (signup?.signup === "closed") {
    return h("section", { class: "auth" },
      h("div", { class: "panel" },
        h("h1", null, "Signing up is closed"),
        h("p", null, "New accounts on this KeyBox are made by its administrator. Ask them for one."),
        signup.hasAccounts === false ? firstAccountByOperator() : null),
      h("p", { class: "switch" }, "Already have an account? ", h("a", { href: "#/login" }, "Log in")));
  }
  const first = signup?.hasAccounts === false;
  return authForm({
    title: first ? "Welcome to KeyBox" : "Create an account",
    extra: providerButtons(),
    intro: first
      ? "Nobody has an account here yet. Create the first one: it becomes this installation's administrator."
      : "The first account of a KeyBox installation becomes its administrator.",
    submitLabel: "Create account",
    fields: [
      input({ name: "name", label: "Your name", autocomplete: "name", required: true }),
      input({ name: "email", label: "Email address", type: "email", autocomplete: "email", required: true }),
      input({ name: "password", label: "Password", type: "password", autocomplete: "new-password", hint: "At least 8 characters.", required: true, attrs: { "data-minlength": "8" } }),
      input({ name: "confirm_password", label: "Repeat the password", type: "password", autocomplete: "new-password", required: true, attrs: { "data-match": "password" } }),
    ],
    onSubmit: async (v) => {
      await api("POST", "/auth/signup", v);
      await login(v.email, v.password);
      await done();
    },
    footer: ["Already have an account? ", h("a", { href: "#/login" }, "Log in")],
  });
}
