// Logging in and signing up.

import { api, login, ApiError } from "./api.js";
import { h, input, showErrors, values, clearErrors } from "./ui.js";

function authForm({ title, intro, fields, submitLabel, onSubmit, footer, message }) {
  const button = h("button", { type: "submit", class: "btn" }, submitLabel);
  const form = h("form", { class: "form", novalidate: true },
    fields,
    h("p", { class: "form-error field-error", role: "alert", tabindex: "-1" }),
    h("div", { class: "form-actions" }, button));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    button.disabled = true;
    try {
      await onSubmit(values(form));
    } catch (err) {
      showErrors(form, err instanceof ApiError ? err : { message: String(err), fields: {} });
    } finally {
      button.disabled = false;
    }
  });
  return h("section", { class: "auth" },
    h("div", { class: "panel" },
      h("div", null, h("h1", null, title), h("p", { class: "muted" }, intro)),
      message ? h("p", { class: "notice", role: "status" }, message) : null,
      form),
    h("p", { class: "switch" }, footer));
}

export function loginPage({ message, done }) {
  return authForm({
    title: "Log in",
    intro: "Manage your clients, projects and license keys.",
    message,
    submitLabel: "Log in",
    fields: [
      input({ name: "email", label: "Email address", type: "email", autocomplete: "username" }),
      input({ name: "password", label: "Password", type: "password", autocomplete: "current-password" }),
    ],
    onSubmit: async (v) => {
      await login(v.email, v.password);
      done();
    },
    footer: ["New to this KeyBox? ", h("a", { href: "#/signup" }, "Create an account")],
  });
}

export function signupPage({ done }) {
  return authForm({
    title: "Create an account",
    intro: "The first account of a KeyBox installation becomes its administrator.",
    submitLabel: "Create account",
    fields: [
      input({ name: "name", label: "Your name", autocomplete: "name" }),
      input({ name: "email", label: "Email address", type: "email", autocomplete: "email" }),
      input({ name: "password", label: "Password", type: "password", autocomplete: "new-password", hint: "At least 8 characters." }),
      input({ name: "confirm_password", label: "Repeat the password", type: "password", autocomplete: "new-password" }),
    ],
    onSubmit: async (v) => {
      await api("POST", "/auth/signup", v);
      await login(v.email, v.password);
      done();
    },
    footer: ["Already have an account? ", h("a", { href: "#/login" }, "Log in")],
  });
}
