// The event log: every change of state, newest first, filtered by type,
// subject and date. Each row says who made the change, to what (with a link
// to its page where there is one), from where, and what changed, as text.

import { api, query, seg, session } from "./api.js";
import { h, table, pager, time, errorNotice, input, select, values } from "./ui.js";

// eventTypes are the types the server records, by family (a Go test holds
// this list to the server's).
export const eventTypes = [
  "client.created", "client.updated", "client.deleted",
  "project.created", "project.updated", "project.deleted",
  "license.created", "license.updated", "license.revoked", "license.restored",
  "license.renewed", "license.expired", "license.deleted",
  "activation.created", "activation.deleted", "activation.expired",
  "token.created", "token.revoked",
  "user.created", "user.updated", "user.password_changed", "user.deleted",
  "signing_key.rotated", "signing_key.revoked",
  "webhook.created", "webhook.updated", "webhook.deleted",
];

const families = [...new Set(eventTypes.map((t) => t.split(".")[0]))];

// typeOptions are the type filter's choices: a family, then its types.
function typeOptions() {
  const out = [["", "Any type"]];
  for (const f of families) {
    out.push([`${f}.*`, `Every ${f.replace("_", " ")} event`]);
    for (const t of eventTypes.filter((t) => t.startsWith(`${f}.`))) out.push([t, `\u00a0\u00a0${t}`]);
  }
  return out;
}

const PAGE_SIZE = 25;

export async function eventsPage(view) {
  const p = view.params;
  const typeF = select({ name: "type", label: "Type", options: typeOptions(), value: p.get("type") || "" });
  const subjectF = input({
    name: "subject", label: "Subject", value: p.get("subject") || "",
    hint: "An object's id, or type/id (license/…).", attrs: { autocomplete: "off", spellcheck: "false" },
  });
  const sinceF = input({ name: "since", label: "Since", type: "date", value: p.get("since") || "" });
  const form = h("form", { class: "toolbar", role: "search", "aria-label": "Filter events" }, typeF, subjectF, sinceF,
    h("button", { type: "submit", class: "btn btn-secondary" }, "Filter"));
  const results = h("div", { class: "results", tabindex: "-1", "aria-live": "polite" });
  const names = await actorNames();
  let loads = 0;

  const load = async (page) => {
    const mine = ++loads;
    const f = values(form);
    f.subject = f.subject.trim();
    history.replaceState(null, "", `#/events${query({ ...f, page: page > 1 ? page : "" })}`);
    // The day starts at midnight where the browser is.
    const since = f.since ? new Date(`${f.since}T00:00:00`) : null;
    let data;
    try {
      data = await api("GET", `/events${query({
        type: f.type, subject: f.subject.replace(/^[a-z_]+\//, ""),
        since: since && !Number.isNaN(since.getTime()) ? since.toISOString() : "", page, limit: PAGE_SIZE,
      })}`);
    } catch (err) {
      if (mine === loads && err.status !== 401) results.replaceChildren(errorNotice(err));
      return;
    }
    if (mine !== loads || !view.alive()) return;
    results.replaceChildren(eventTable(data, names, f), pager(data, async (n) => {
      await load(n);
      results.focus();
    }));
  };

  typeF.querySelector("select").addEventListener("change", () => load(1));
  sinceF.querySelector("input").addEventListener("change", () => load(1));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    load(1);
  });

  await load(Number(p.get("page")) || 1);
  const out = [
    h("div", { class: "page-head" },
      h("div", null, h("h1", null, "Event log"),
        h("p", { class: "sub" }, "Every change to your clients, licenses, tokens and webhooks, newest first: who made it, from where, and what changed."))),
  ];
  if (p.get("subject")) out.push(h("p", { class: "notice" }, "Showing the history of one object. ", h("a", { href: "#/events" }, "Show every event")));
  out.push(form, results);
  return out;
}

// actorNames maps the ids of users and API tokens this page can name: the
// person logged in, their tokens, and for an ADMIN every account.
async function actorNames() {
  const users = new Map();
  const tokens = new Map();
  const [me, list, all] = await Promise.allSettled([
    api("GET", "/auth/me"),
    api("GET", "/tokens"),
    session()?.user?.role === "ADMIN" ? api("GET", "/auth/users") : Promise.resolve(null),
  ]);
  if (all.status === "fulfilled" && all.value) for (const u of all.value.users || []) users.set(u._id, u.name || u.email);
  if (me.status === "fulfilled") users.set(me.value.user._id, `${me.value.user.name || me.value.user.email} (you)`);
  if (list.status === "fulfilled") for (const t of list.value.tokens || []) tokens.set(t._id, t.name);
  return { users, tokens };
}

function eventTable(data, names, f) {
  if (data.total === 0) {
    return h("p", { class: "panel empty" }, f.type || f.subject || f.since
      ? "No event matches these filters."
      : "No events yet. Every change you make is recorded here.");
  }
  return table("Events", [
    { label: "Time", cell: (e) => h("span", { class: "nowrap" }, time(e.createdAt, true)) },
    { label: "Type", cell: (e) => h("code", { class: "event-type" }, e.type) },
    { label: "Actor", cell: (e) => actorCell(e.actor, names) },
    { label: "Subject", cell: (e) => subjectCell(e) },
    { label: "What changed", class: "changes-cell", cell: (e) => dataCell(e.data) },
    { label: "Origin", cell: (e) => originCell(e) },
  ], data.events);
}

function actorCell(a, names) {
  switch (a.type) {
    case "user": {
      const name = names.users.get(a.id);
      return h("span", { class: "cell-wrap", "data-actor": "user" }, name ?? `User ${a.id}`);
    }
    case "token": {
      const name = names.tokens.get(a.id);
      return h("span", { class: "cell-wrap", "data-actor": "token" }, name ? `API token “${name}”` : `API token ${a.id}`);
    }
    case "application":
      return h("span", { class: "cell-wrap", "data-actor": "application", title: "An installed application, named by its key's fingerprint" },
        "Application ", h("code", null, a.id));
    case "system":
      return h("span", { "data-actor": "system" }, a.id === "cli" ? "System (command line)" : "System");
    default:
      return h("span", { class: "cell-wrap" }, `${a.type} ${a.id ?? ""}`.trim());
  }
}

// subjectCell names the subject and links to its page, where it has one
// and still exists.
function subjectCell(e) {
  const s = e.subject;
  const d = e.data && typeof e.data === "object" ? e.data : {};
  const gone = e.type.endsWith(".deleted");
  let label = `${s.type} ${s.id}`;
  let href = null;
  if (s.type === "license" || s.type === "activation") {
    if (typeof d.key === "string") {
      label = s.type === "license" ? `License ${d.key}` : `Seat of ${d.key}`;
      if (!gone || s.type === "activation") href = `#/licenses/${seg(d.key)}`;
    }
  } else if (s.type === "client") {
    const name = typeof d.name === "string" ? d.name : d.name?.to;
    label = name ? `Client ${name}` : `Client ${s.id}`;
    if (!gone) href = `#/clients/${seg(s.id)}`;
  } else if (s.type === "webhook") {
    label = `Webhook ${typeof d.url === "string" ? d.url : s.id}`;
    if (!gone) href = `#/webhooks/${seg(s.id)}`;
  }
  return h("span", { class: "cell-wrap" }, href ? h("a", { href, "data-subject": s.type }, label) : label);
}

// dataCell shows what changed, one line per member: "status: ACTIVE →
// REVOKED" for a change, "key: KB-…" for a value. Every value is text.
function dataCell(data) {
  if (!data || typeof data !== "object" || Object.keys(data).length === 0) return h("span", { class: "muted" }, "—");
  return h("ul", { class: "changes" }, Object.entries(data).map(([k, v]) => {
    if (isChange(v)) return h("li", null, h("span", { class: "change-key" }, `${k}: `), show(v.from), " → ", show(v.to));
    return h("li", null, h("span", { class: "change-key" }, `${k}: `), show(v));
  }));
}

function isChange(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 2 && "from" in v && "to" in v;
}

function show(v) {
  if (v === null || v === undefined || v === "") return h("span", { class: "muted" }, "none");
  if (Array.isArray(v)) return v.length ? v.map((x) => (typeof x === "string" ? x : JSON.stringify(x))).join(", ") : h("span", { class: "muted" }, "none");
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function originCell(e) {
  if (!e.ip && !e.requestId) return h("span", { class: "muted" }, "Background work");
  return h("span", { class: "origin" },
    e.ip ? h("span", { class: "cell-wrap" }, e.ip) : null,
    e.requestId ? h("code", { class: "request-id", title: "Request id (X-Request-Id), as in the server's log" }, e.requestId) : null);
}
