// Licenses: the filterable, sortable table, one license's page with its
// actions and activations, and the dialog that issues a license.

import { api, query, seg, serverNow } from "./api.js";
import {
  h, table, pager, time, relative, notify, errorNotice, badge, keyLink, copyButton, plural, num, emptyState, seatsText,
  input, select, checks, checkbox, textarea, durationOptions, serviceOptions, formDialog, confirm, values, guard,
  codesOf, leaseText,
} from "./ui.js";
import { namesOf, clientName, projectName, rememberProjects } from "./names.js";
import { picker } from "./picker.js";
import { clientPicker, newClientDialog, newProjectDialog } from "./clients.js";

const statusOptions = [["", "Any status"], ["ACTIVE", "Active"], ["PENDING", "Not activated yet"], ["EXPIRED", "Expired"], ["REVOKED", "Revoked"]];
// Orders of the table, as sort and order of GET /license.
const sortOptions = [
  ["", "Newest first"], ["createdAt:asc", "Oldest first"],
  ["expiresAt:asc", "Expiring soonest"], ["expiresAt:desc", "Expiring latest"],
  ["status:asc", "Status, A to Z"], ["status:desc", "Status, Z to A"],
];
const sizeOptions = [["20", "20"], ["50", "50"], ["100", "100"]];
// The columns that sort, and the way each sorts first.
const sortable = { Created: ["createdAt", "desc"], Expires: ["expiresAt", "asc"], Status: ["status", "asc"] };

function sortValue(sort, order) {
  if (!sort) return "";
  const v = `${sort}:${order || (sort === "createdAt" ? "desc" : "asc")}`;
  return v === "createdAt:desc" ? "" : v;
}

export async function licensesPage(view) {
  const p = view.params;
  const f0 = {
    status: p.get("status") || "", clientId: p.get("clientId") || "", projectId: p.get("projectId") || "", q: p.get("q") || "",
    sort: sortValue(p.get("sort"), p.get("order")), limit: sizeOptions.some(([v]) => v === p.get("limit")) ? p.get("limit") : "20",
  };
  const [cname, pname] = await Promise.all([
    f0.clientId ? clientName(f0.clientId) : "", f0.projectId ? projectName(f0.projectId) : "",
  ]);

  const results = h("div", { class: "results", tabindex: "-1", "aria-live": "polite" });
  let loads = 0;
  const reload = () => load(1);
  const statusF = select({ name: "status", label: "Status", options: statusOptions, value: f0.status });
  const clientF = picker({
    name: "clientId", label: "Client", kind: "client", value: f0.clientId, text: cname ?? "", any: "Any client",
    onChange: () => {
      projectF.pick("", "");
      reload();
    },
  });
  const projectF = picker({
    name: "projectId", label: "Project", kind: "project", value: f0.projectId, text: pname ?? "", any: "Any project",
    scope: () => clientF.value(), onChange: reload,
  });
  const keyF = input({ name: "q", label: "Key contains", type: "search", value: f0.q, attrs: { autocomplete: "off", spellcheck: "false" } });
  const sortF = select({ name: "sort", label: "Sort by", options: sortOptions, value: f0.sort });
  const sizeF = select({ name: "limit", label: "Rows per page", options: sizeOptions, value: f0.limit });
  const form = h("form", { class: "toolbar", role: "search", "aria-label": "Filter licenses" }, statusF, clientF, projectF, keyF, sortF, sizeF);

  const load = async (page) => {
    const mine = ++loads;
    const f = values(form);
    f.q = f.q.trim();
    const [sort, order] = f.sort ? f.sort.split(":") : ["", ""];
    const limit = f.limit === "20" ? "" : f.limit;
    const shown = { status: f.status, clientId: f.clientId, projectId: f.projectId, q: f.q, sort, order };
    history.replaceState(null, "", `#/licenses${query({ ...shown, limit, page: page > 1 ? page : "" })}`);
    let data;
    let names;
    try {
      data = await api("GET", `/license${query({ ...shown, page, limit: f.limit })}`);
      names = await namesOf(data.licenses);
    } catch (err) {
      if (mine === loads && err.status !== 401) results.replaceChildren(errorNotice(err));
      return;
    }
    if (mine !== loads || !view.alive()) return;
    if (data.total > 0 && data.licenses.length === 0 && page > 1) {
      await load(1);
      return;
    }
    const header = (col) => sortHeader(col, f.sort, (v) => {
      sortF.querySelector("select").value = v;
      reload();
    });
    results.replaceChildren(...[licenseTable(data, names, f, header, view), pager(data, async (n) => {
      await load(n);
      results.focus();
    })].filter(Boolean));
  };

  for (const el of [statusF, sortF, sizeF]) el.querySelector("select").addEventListener("change", reload);
  let timer = 0;
  keyF.querySelector("input").addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(reload, 250);
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    reload();
  });

  await load(Number(p.get("page")) || 1);
  return [
    h("div", { class: "page-head" },
      h("div", null, h("h1", null, "Licenses"), h("p", { class: "sub" }, "Every key you have issued.")),
      h("button", {
        type: "button", class: "btn", "data-focus": "new-license",
        onclick: guard(() => issue(view, clientF.value(), projectF.value())),
      }, "New license")),
    form,
    results,
  ];
}

async function issue(view, clientId, projectId) {
  const res = await newLicenseDialog({ clientId, projectId });
  if (!res) return;
  notify(`License ${res.license.key} created.`, "success");
  view.refresh("new-license");
}

// sortHeader is a column's heading: a button that sorts by it, then the
// other way, with aria-sort on the column that orders the table.
function sortHeader(col, current, set) {
  const [field, first] = sortable[col];
  const [cf, co] = current ? current.split(":") : ["createdAt", "desc"];
  const on = cf === field;
  const next = on ? (co === "asc" ? "desc" : "asc") : first;
  return {
    sort: on ? (co === "asc" ? "ascending" : "descending") : "none",
    label: h("button", {
      type: "button", class: "sort", "data-sort": field,
      onclick: () => set(sortValue(field, next)),
    }, col, h("span", { class: "sort-mark", "aria-hidden": "true" }, on ? (co === "asc" ? " ▲" : " ▼") : "")),
  };
}

function licenseTable(data, names, f, header, view) {
  if (data.total === 0) {
    const filtered = f.status || f.clientId || f.projectId || f.q;
    if (filtered) return emptyState("No license matches these filters.", h("button", { type: "button", class: "btn btn-secondary", onclick: () => view.go("#/licenses") }, "Clear the filters"));
    return emptyState("No licenses yet. Issue the first one: it needs a client and a project.",
      h("button", { type: "button", class: "btn", onclick: guard(() => issue(view, "", "")) }, "New license"));
  }
  const col = (label, cell, extra = {}) => {
    if (!sortable[label]) return { label, cell, ...extra };
    const hd = header(label);
    return { label, head: hd.label, sort: hd.sort, cell, ...extra };
  };
  return table("Licenses", [
    col("Key", (l) => h("span", { class: "key-line" }, keyLink(l.key), copyButton(l.key))),
    col("Status", (l) => badge(l.status)),
    col("Client", (l) => h("a", { class: "cell-wrap", href: `#/clients/${seg(l.client)}` }, names.client.get(l.client) ?? "—")),
    col("Project", (l) => h("span", { class: "cell-wrap" }, names.project.get(l.project) ?? "—")),
    col("Created", (l) => time(l.createdAt)),
    col("Expires", (l) => l.activatedAt ? time(l.expiresAt) : h("span", { class: "muted" }, "Not activated")),
    col("Seats", (l) => seatsText(l)),
  ], data.licenses);
}

// newLicenseDialog issues a license. With a client and project given (from
// a client's page) it asks only about the license; otherwise it offers to
// search the caller's clients, then that client's projects, and to create
// either when there is none.
export async function newLicenseDialog({ client, project, clientId = "", projectId = "" }) {
  const fixed = Boolean(client && project);
  const fields = [];
  let clientF;
  let projectF;
  let noProject;
  if (!fixed) {
    const start = await startingPoint(clientId, projectId);
    if (start.noClients) return firstClient();
    noProject = h("div", { class: "notice", hidden: true });
    const showProjects = async (id, name) => {
      if (!id) {
        noProject.hidden = true;
        return;
      }
      const res = await api("GET", `/projects${query({ clientId: id, limit: 1 })}`);
      rememberProjects(res.projects);
      if (res.projects.length) projectF.pick(res.projects[0]._id, res.projects[0].name);
      else projectF.pick("", "");
      noProject.hidden = res.total > 0;
      noProject.replaceChildren(
        h("p", null, `${name} has no projects yet. A new project comes with its first license.`),
        h("button", { type: "button", class: "btn btn-small", onclick: () => projectFirst(id, name) }, `New project for ${name}`));
      projectF.dispatchEvent(new Event("picked"));
    };
    clientF = clientPicker({ value: start.clientId, text: start.clientText, onChange: guard((id, c) => showProjects(id, c?.name ?? "")) });
    projectF = picker({
      name: "projectId", label: "Project", kind: "project", value: start.projectId, text: start.projectText,
      scope: () => clientF.value(), onChange: guard((id) => usePolicy(id)),
    });
    fields.push(clientF, projectF, noProject);
    if (start.clientId && !start.projectId) queueMicrotask(guard(() => showProjects(start.clientId, start.clientText)));
  }
  const durationF = select({ name: "duration", label: "Duration", options: durationOptions, value: "12" });
  const seatsF = input({ name: "maxMachines", label: "Seats", type: "number", value: "1", attrs: { min: "1", max: "1000", inputmode: "numeric" } });
  const leaseF = input({
    name: "leaseSeconds", label: "Lease (seconds)", type: "number", value: "0", attrs: { min: "0", inputmode: "numeric" },
    hint: "0 keeps a seat until it is freed; from 60, a silent machine's seat lapses.",
  });
  const codesF = input({ name: "entitlements", label: "Entitlements", hint: "Feature codes, separated by commas.", attrs: { autocomplete: "off", spellcheck: "false" } });
  // The fields start as the project's policy says; what is changed here
  // overrides it for this license only.
  const usePolicy = async (id) => {
    if (!id) return;
    const { policy } = await api("GET", `/projects/${seg(id)}/policy`);
    if (policy.duration) durationF.querySelector("select").value = String(policy.duration);
    seatsF.querySelector("input").value = String(policy.maxMachines);
    leaseF.querySelector("input").value = String(policy.leaseSeconds);
    codesF.querySelector("input").value = policy.entitlements.join(", ");
  };
  const firstProject = fixed ? project._id : projectF.value();
  if (firstProject) await usePolicy(firstProject);
  projectF?.addEventListener("picked", guard(() => usePolicy(projectF.value())));
  fields.push(
    h("div", { class: "fields-row" }, durationF, seatsF),
    h("div", { class: "fields-row" }, leaseF, codesF),
    checks({ name: "services", label: "Services", options: serviceOptions, checked: ["Hosting"] }),
    input({ name: "key", label: "Key (optional)", hint: "Leave empty to generate one. To import an existing key, enter it here.", attrs: { autocomplete: "off", spellcheck: "false" } }),
  );
  // A client without projects: its first project is made (with its first
  // license) instead; the dialog hands over to that one.
  let handOver = null;
  let closeDialog = null;
  const projectFirst = (id, name) => {
    handOver = { _id: id, name };
    closeDialog?.(undefined);
  };
  const res = await formDialog({
    title: fixed ? `New license for ${project.name}` : "New license",
    intro: "The terms start as the project's policy says.",
    fields,
    bindClose: (close) => { closeDialog = close; },
    submitLabel: "Create license",
    submit: (v) => api("POST", "/license/create", {
      clientId: fixed ? client._id : v.clientId,
      projectId: fixed ? project._id : v.projectId,
      duration: Number(v.duration),
      maxMachines: v.maxMachines, // sent as typed: the server says what it accepts
      leaseSeconds: v.leaseSeconds,
      entitlements: codesOf(v.entitlements),
      services: v.services,
      key: v.key.trim() || undefined,
    }),
  });
  if (handOver) return newProjectDialog(handOver);
  return res;
}

// startingPoint is where the New license dialog starts: the client (and
// project) of the page's filters, else the only client if there is one.
async function startingPoint(clientId, projectId) {
  if (clientId) {
    const [ct, pt] = await Promise.all([clientName(clientId), projectId ? projectName(projectId) : ""]);
    if (ct !== null) return { clientId, clientText: ct, projectId: pt ? projectId : "", projectText: pt || "" };
  }
  const res = await api("GET", `/clients${query({ limit: 2 })}`);
  if (res.total === 0) return { noClients: true };
  if (res.total === 1) return { clientId: res.clients[0]._id, clientText: res.clients[0].name, projectId: "", projectText: "" };
  return { clientId: "", clientText: "", projectId: "", projectText: "" };
}

// firstClient is New license without any client: it offers to create one,
// then carries on with its first project (which comes with a license).
async function firstClient() {
  const go = await confirm({
    title: "New license",
    message: ["A license is issued to a client, for a project. You have no clients yet.", "Create your first client, then its first project: it comes with its first license."],
    confirmLabel: "New client",
    danger: false,
  });
  if (!go) return undefined;
  const c = await newClientDialog();
  if (!c) return undefined;
  return newProjectDialog(c);
}

// --- one license ---

export async function licensePage(view, key) {
  const { license: l, activations, seatsInUse } = await api("GET", `/license/${seg(key)}`);
  const [client, project] = await Promise.all([clientName(l.client), projectName(l.project)]);
  const reload = (focus) => view.refresh(focus);

  const actions = h("div", { class: "actions" });
  if (l.status === "EXPIRED") {
    actions.append(h("p", { class: "muted" }, "This license has expired. Renew it to use it again."));
  } else {
    const revoking = l.status !== "REVOKED";
    actions.append(h("button", {
      type: "button", class: revoking ? "btn btn-danger" : "btn", "data-focus": "toggle",
      onclick: guard(async () => {
        if (revoking && !await confirm({
          title: "Revoke this license?",
          message: [`Applications using ${l.key} will be refused at their next validation.`, "You can restore it later."],
          confirmLabel: "Revoke license",
        })) return;
        const res = await api("PATCH", `/license/revoke/${seg(l.key)}`);
        notify(res.status === "REVOKED" ? "License revoked." : `License restored: it is ${res.status} again.`, "success");
        reload("toggle");
      }),
    }, revoking ? "Revoke" : "Restore"));
  }
  actions.append(
    h("button", { type: "button", class: "btn btn-secondary", "data-focus": "renew", onclick: guard(() => renew(l, reload)) }, "Renew"),
    h("button", { type: "button", class: "btn btn-secondary", "data-focus": "seats", onclick: guard(() => changeSeats(l, seatsInUse, reload)) }, "Change seats"),
    h("button", { type: "button", class: "btn btn-secondary", "data-focus": "terms", onclick: guard(() => editTerms(l, reload)) }, "Edit terms"),
    h("a", { class: "btn btn-secondary", href: `#/events${query({ subject: l._id })}` }, "History"));

  return [
    h("div", null,
      h("p", { class: "crumbs" }, h("a", { href: "#/licenses" }, "Licenses"), " / ",
        h("a", { href: `#/clients/${seg(l.client)}` }, client ?? "Client"), " / ", project ?? ""),
      h("div", { class: "license-title" }, h("h1", null, l.key), copyButton(l.key), badge(l.status))),
    h("section", { class: "panel", "aria-label": "Details" },
      h("dl", { class: "facts" },
        fact("Client", h("a", { href: `#/clients/${seg(l.client)}` }, client ?? "—")),
        fact("Project", project ?? "—"),
        fact("Duration", plural(l.duration, "month", "months")),
        fact("Activated", time(l.activatedAt, true)),
        fact("Expires", l.activatedAt ? [time(l.expiresAt), " ", h("span", { class: "muted" }, `(${relative(l.expiresAt)})`)] : h("span", { class: "muted" }, "Counted from the first activation")),
        fact("Seats in use", `${num(seatsInUse)} of ${num(l.maxMachines)}`),
        fact("Lease", l.leaseSeconds
          ? `${leaseText(l.leaseSeconds)}: a seat lapses when its machine is silent that long`
          : h("span", { class: "muted" }, "None: seats are kept until freed")),
        fact("Entitlements", l.entitlements.length
          ? h("ul", { class: "codes", "aria-label": "Entitlements" }, l.entitlements.map((c) => h("li", { class: "code" }, c)))
          : h("span", { class: "muted" }, "None")),
        fact("Machine ID", l.requireMachineId ? "Required" : h("span", { class: "muted" }, "Optional")),
        fact("Services", l.services.join(", ")),
        fact("Product", l.productName ?? h("span", { class: "muted" }, "Any (bound at the first activation that names one)")),
        fact("Created", time(l.createdAt, true)),
        fact("Metadata", Object.keys(l.metadata).length
          ? h("pre", { class: "metadata" }, JSON.stringify(l.metadata, null, 2))
          : h("span", { class: "muted" }, "None"))),
      actions),
    h("section", { "aria-labelledby": "act-h" },
      h("div", { class: "section-head" }, h("h2", { id: "act-h" }, `Activations (${activations.length})`)),
      activations.length === 0
        ? h("p", { class: "panel empty" }, "No machine has activated this license yet.")
        : table("Activations", [
          { label: "Machine", cell: (a) => h("span", { class: "key" }, a.machineId || "—") },
          { label: "Instance", cell: (a) => h("span", { class: "cell-wrap" }, a.instanceId || "—") },
          { label: "Product", cell: (a) => h("span", { class: "cell-wrap" }, a.productName || "—") },
          { label: "Activated", cell: (a) => time(a.activatedAt, true) },
          { label: "Last validated", cell: (a) => time(a.lastValidatedAt, true) },
          { label: "Lease expires", cell: (a) => leaseCell(a) },
          {
            label: "", class: "actions-cell", cell: (a) => h("button", {
              type: "button", class: "btn btn-danger-quiet btn-small", "aria-label": `Free the seat of ${a.machineId || a.instanceId}`,
              onclick: guard(() => freeSeat(l, a, reload)),
            }, "Free this seat"),
          },
        ], activations)),
  ];
}

// leaseCell shows when a seat's lease ends, or that it has lapsed (the seat
// holds nothing and the sweep removes it).
function leaseCell(a) {
  if (!a.leaseExpiresAt) return h("span", { class: "muted" }, "No lease");
  if (new Date(a.leaseExpiresAt).getTime() <= serverNow()) return h("span", { class: "lapsed" }, "Lapsed");
  return time(a.leaseExpiresAt, true);
}

async function editTerms(l, reload) {
  const res = await formDialog({
    title: "Edit terms",
    intro: "These terms are this license's own: its project's policy no longer changes them.",
    fields: [
      input({
        name: "leaseSeconds", label: "Lease (seconds)", type: "number", value: String(l.leaseSeconds), attrs: { min: "0", inputmode: "numeric" },
        hint: "0 keeps a seat until it is freed. From 60: a seat lapses when its machine has been silent that long.",
      }),
      input({ name: "entitlements", label: "Entitlements", value: l.entitlements.join(", "), hint: "Feature codes, separated by commas.", attrs: { autocomplete: "off", spellcheck: "false" } }),
      textarea({
        name: "metadata", label: "Metadata", value: Object.keys(l.metadata).length ? JSON.stringify(l.metadata, null, 2) : "",
        hint: "A JSON object the application reads (at most 4096 bytes). Leave empty for none.", attrs: { spellcheck: "false" },
      }),
      checkbox({ name: "requireMachineId", label: "Require a machine ID", checked: l.requireMachineId }),
    ],
    submitLabel: "Save terms",
    submit: (v) => {
      let metadata = {};
      if (v.metadata.trim()) {
        try {
          metadata = JSON.parse(v.metadata);
        } catch {
          const err = new Error("Please correct the fields marked below.");
          err.fields = { metadata: "This is not JSON." };
          throw err;
        }
      }
      return api("PATCH", `/license/${seg(l.key)}`, {
        leaseSeconds: v.leaseSeconds,
        entitlements: codesOf(v.entitlements),
        metadata,
        requireMachineId: v.requireMachineId.length > 0,
      });
    },
  });
  if (!res) return;
  notify("Terms saved.", "success");
  reload("terms");
}

function fact(label, value) {
  return h("div", null, h("dt", null, label), h("dd", null, value));
}

async function renew(l, reload) {
  const res = await formDialog({
    title: "Renew license",
    intro: l.status === "PENDING"
      ? "This license has not been activated yet: the months are added to its duration."
      : "The months are added from today or from its current expiry, whichever is later.",
    fields: [select({ name: "duration", label: "Add", options: durationOptions, value: "12" })],
    submitLabel: "Renew",
    submit: (v) => api("POST", `/license/renew/${seg(l.key)}`, { duration: Number(v.duration) }),
  });
  if (!res) return;
  const lic = res.license;
  notify(lic.status === "PENDING"
    ? `License renewed: ${plural(lic.duration, "month", "months")} from activation.`
    : `License renewed until ${new Date(lic.expiresAt).toLocaleDateString(undefined, { dateStyle: "medium" })}.`, "success");
  reload("renew");
}

async function changeSeats(l, inUse, reload) {
  const res = await formDialog({
    title: "Change seats",
    intro: `How many machines may use this license at once. ${plural(inUse, "machine uses", "machines use")} it now.`,
    fields: [input({ name: "maxMachines", label: "Seats", type: "number", value: String(l.maxMachines), attrs: { min: "1", max: "1000", inputmode: "numeric" } })],
    submitLabel: "Save",
    submit: (v) => api("PATCH", `/license/${seg(l.key)}`, { maxMachines: v.maxMachines }),
  });
  if (!res) return;
  notify(`The license now has ${plural(res.license.maxMachines, "seat", "seats")}.`, "success");
  reload("seats");
}

async function freeSeat(l, a, reload) {
  const ok = await confirm({
    title: "Free this seat?",
    message: [
      `The machine “${a.machineId || a.instanceId}” will lose its seat on ${l.key}.`,
      "The application there will be refused at its next validation, until it activates again.",
    ],
    confirmLabel: "Free this seat",
  });
  if (!ok) return;
  await api("DELETE", `/license/${seg(l.key)}/activations/${seg(a._id)}`);
  notify("Seat freed.", "success");
  reload();
}
