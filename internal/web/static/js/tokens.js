// API tokens: the credentials of scripts and integrations. The list shows
// when each was last used, so that one nobody recognises can be revoked;
// a new token's secret is shown once, in the dialog that made it.

import { api, seg, serverNow } from "./api.js";
import { h, table, time, notify, errorNotice, copyButton, input, select, formDialog, confirm, guard, modal } from "./ui.js";

const scopeOptions = [
  ["read", "Read: lists, licenses, the dashboard; changes nothing"],
  ["write", "Write: also creates, changes, revokes and renews"],
];
const expiryOptions = [["", "Never"], ["30", "In 30 days"], ["90", "In 90 days"], ["365", "In a year"]];

export async function tokensPage(view) {
  let list;
  let failure = null;
  try {
    list = (await api("GET", "/tokens")).tokens;
  } catch (err) {
    if (err.status === 401) throw err;
    failure = errorNotice(err);
  }
  return [
    h("div", { class: "page-head" },
      h("div", null, h("h1", null, "API tokens"),
        h("p", { class: "sub" }, "Credentials for scripts and integrations, such as a billing system that issues licenses. " +
          "Each acts as you within its scope, and never manages your account or its tokens.")),
      h("button", { type: "button", class: "btn", "data-focus": "new-token", onclick: guard(() => createToken(view)) }, "New token")),
    failure || tokenList(list, view),
    h("p", { class: "muted" }, "Changing your password revokes every token; so does logging out everywhere."),
  ];
}

function tokenList(list, view) {
  if (list.length === 0) {
    return h("p", { class: "panel empty" }, "No API tokens. Make one for each script or integration, so that none needs your password.");
  }
  const now = serverNow();
  return table("API tokens", [
    { label: "Name", cell: (t) => h("span", { class: "cell-name" }, t.name) },
    { label: "Scope", cell: (t) => h("span", { class: `badge badge-scope-${t.scope}` }, t.scope) },
    { label: "Token", cell: (t) => h("code", { class: "key" }, `${t.prefix}…`) },
    { label: "Created", cell: (t) => time(t.createdAt) },
    {
      label: "Expires", cell: (t) => !t.expiresAt ? h("span", { class: "muted" }, "Never")
        : Date.parse(t.expiresAt) <= now ? h("span", { class: "badge badge-EXPIRED" }, "EXPIRED") : time(t.expiresAt),
    },
    { label: "Last used", cell: (t) => t.lastUsedAt ? time(t.lastUsedAt, true) : h("span", { class: "muted" }, "Never") },
    {
      label: "", class: "actions-cell", cell: (t) =>
        h("button", { type: "button", class: "btn btn-danger-quiet btn-small", "aria-label": `Revoke ${t.name}`, onclick: guard(() => revokeToken(t, view)) }, "Revoke"),
    },
  ], list);
}

async function createToken(view) {
  const res = await formDialog({
    title: "New API token",
    fields: [
      input({ name: "name", label: "Name", hint: "What it is for: billing, ci, reports." }),
      select({ name: "scope", label: "Scope", options: scopeOptions, value: "read" }),
      select({ name: "expiresAt", label: "Expires", options: expiryOptions, value: "" }),
    ],
    submitLabel: "Create token",
    submit: (v) => {
      const body = { name: v.name, scope: v.scope };
      if (v.expiresAt) body.expiresAt = new Date(serverNow() + Number(v.expiresAt) * 86400000).toISOString();
      return api("POST", "/tokens", body);
    },
  });
  if (!res) return;
  await showSecret(res);
  view.refresh("new-token");
}

// showSecret shows a new token's secret, the only time it is shown.
function showSecret(res) {
  return modal("Copy your new token now", (close) => {
    const done = h("button", { type: "button", class: "btn", onclick: () => close(true) }, "Done");
    queueMicrotask(() => done.focus());
    return h("div", { class: "form" },
      h("p", null, `“${res.apiToken.name}” (${res.apiToken.scope}) is ready. This is the only time its secret is shown: keep it where the script reads its secrets, and send it as Authorization: Bearer <token>.`),
      h("p", { class: "key-line" }, h("code", { class: "key secret", "data-secret": "" }, res.token), copyButton(res.token, "token")),
      h("div", { class: "form-actions" }, done));
  });
}

async function revokeToken(t, view) {
  const ok = await confirm({
    title: "Revoke this token?",
    message: [`“${t.name}” (${t.prefix}…) stops working at once, on every server.`, "Whatever uses it will be refused until it is given a new token."],
    confirmLabel: "Revoke token",
  });
  if (!ok) return;
  try {
    await api("DELETE", `/tokens/${seg(t._id)}`);
  } catch (err) {
    if (err.status !== 404) throw err; // revoked elsewhere meanwhile: gone either way
  }
  notify(`Token “${t.name}” revoked.`, "success");
  view.refresh();
}
