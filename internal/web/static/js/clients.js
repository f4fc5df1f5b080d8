// Clients: the searchable list, and one client's page with its projects and
// their licenses as a tree.

import { api, query, seg } from "./api.js";
import {
  h, table, pager, time, notify, errorNotice, badge, keyLink, copyButton, plural, emptyState,
  input, select, checks, checkbox, durationOptions, serviceOptions, formDialog, confirm, guard, licenseSummary,
  codesOf, leaseText,
} from "./ui.js";
import { newLicenseDialog } from "./licenses.js";
import { picker } from "./picker.js";
import { rememberClients, rememberProjects } from "./names.js";

const PAGE_SIZE = 20;

export async function clientsPage(view) {
  const search = h("input", { type: "search", id: "client-search", name: "q", value: view.params.get("q") || "", autocomplete: "off", placeholder: "Name or email" });
  const results = h("div", { class: "results", tabindex: "-1", "aria-live": "polite" });
  let loads = 0;

  const load = async (page) => {
    const mine = ++loads;
    const q = search.value.trim();
    history.replaceState(null, "", `#/clients${query({ q, page: page > 1 ? page : "" })}`);
    let data;
    try {
      data = await api("GET", `/clients${query({ q, page, limit: PAGE_SIZE })}`);
    } catch (err) {
      if (mine === loads && err.status !== 401) results.replaceChildren(errorNotice(err));
      return;
    }
    if (mine !== loads || !view.alive()) return;
    if (data.total > 0 && data.clients.length === 0 && page > 1) {
      await load(1);
      return;
    }
    rememberClients(data.clients);
    results.replaceChildren(...[clientList(data, q, view), pager(data, async (p) => {
      await load(p);
      results.focus();
    })].filter(Boolean));
  };

  let timer = 0;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => load(1), 250);
  });
  const form = h("form", { class: "toolbar", role: "search", onsubmit: (e) => { e.preventDefault(); clearTimeout(timer); load(1); } },
    h("div", { class: "field grow" }, h("label", { for: "client-search" }, "Search clients"), search));

  await load(Number(view.params.get("page")) || 1);
  return [
    h("div", { class: "page-head" },
      h("div", null, h("h1", null, "Clients"), h("p", { class: "sub" }, "The customers you issue licenses to.")),
      h("button", { type: "button", class: "btn", "data-focus": "new-client", onclick: guard(() => createClient(view)) }, "New client")),
    form,
    results,
  ];
}

function clientList(data, q, view) {
  if (data.total === 0) {
    const add = h("button", { type: "button", class: "btn", onclick: guard(() => createClientAndOpen(view, q)) }, q ? `New client “${q}”` : "New client");
    return q
      ? emptyState(`No client matches “${q}”.`, add)
      : emptyState("No clients yet. Create your first client to start issuing licenses.", add);
  }
  return table("Clients", [
    { label: "Name", cell: (c) => h("a", { class: "cell-name", href: `#/clients/${seg(c._id)}` }, c.name) },
    { label: "Email", cell: (c) => h("span", { class: "cell-wrap" }, c.email) },
    { label: "Added", cell: (c) => time(c.createdAt) },
    {
      label: "", class: "actions-cell", cell: (c) => [
        h("button", { type: "button", class: "btn btn-secondary btn-small", "aria-label": `Edit ${c.name}`, onclick: guard(() => editClient(c, view)) }, "Edit"),
        h("button", { type: "button", class: "btn btn-danger-quiet btn-small", "aria-label": `Delete ${c.name}`, onclick: guard(() => deleteClient(c, view, false)) }, "Delete"),
      ],
    },
  ], data.clients);
}

function clientFields(c = {}) {
  return [
    input({ name: "name", label: "Name", value: c.name || "", autocomplete: "organization", required: true }),
    input({ name: "email", label: "Email address", type: "email", value: c.email || "", autocomplete: "email", hint: "Unique among your clients.", required: true }),
  ];
}

// newClientDialog asks for a client and creates it; it resolves with the
// client, or undefined when dismissed. name may start the name field.
export async function newClientDialog(name = "") {
  const res = await formDialog({
    title: "New client",
    fields: clientFields({ name }),
    submitLabel: "Create client",
    submit: (v) => api("POST", "/clients", { name: v.name, email: v.email }),
  });
  if (!res) return undefined;
  rememberClients([res.client]);
  notify(`Client “${res.client.name}” created.`, "success");
  return res.client;
}

async function createClient(view) {
  if (await newClientDialog()) view.refresh("new-client");
}

// createClientAndOpen creates a client and shows its page, where the next
// step (its first project) is offered.
async function createClientAndOpen(view, name) {
  const c = await newClientDialog(name);
  if (c) view.go(`#/clients/${seg(c._id)}`);
}

async function editClient(c, view, focus) {
  const res = await formDialog({
    title: "Edit client",
    fields: clientFields(c),
    submitLabel: "Save changes",
    submit: (v) => api("PATCH", `/clients/${seg(c._id)}`, { name: v.name, email: v.email }),
  });
  if (!res) return;
  rememberClients([res.client]);
  notify("Client updated.", "success");
  view.refresh(focus);
}

// deleteClient asks first; a client with projects answers 409 and is only
// deleted, with everything under it, after a second, explicit confirmation.
async function deleteClient(c, view, onItsPage) {
  const ok = await confirm({
    title: "Delete this client?",
    message: `“${c.name}” (${c.email}) will be deleted.`,
    confirmLabel: "Delete client",
  });
  if (!ok) return;
  try {
    await api("DELETE", `/clients/${seg(c._id)}`);
  } catch (err) {
    if (err.status !== 409) throw err;
    const all = await confirm({
      title: "This client has projects",
      message: [
        `“${c.name}” has projects. Deleting the client also deletes all its projects, their licenses and every activation of those licenses.`,
        "Applications using those keys will stop working. This cannot be undone.",
      ],
      confirmLabel: "Delete client and all its projects",
    });
    if (!all) return;
    await api("DELETE", `/clients/${seg(c._id)}${query({ cascade: "true" })}`);
  }
  notify(`Client “${c.name}” deleted.`, "success");
  if (onItsPage) view.go("#/clients");
  else view.refresh();
}

// --- one client ---

export async function clientPage(view, id) {
  const data = await api("GET", `/dashboard${query({ clientId: id })}`);
  const client = data.data[0];
  const projects = client.projects;
  rememberClients([client]);
  rememberProjects(projects);
  const newProject = () => guard(async () => {
    if (await newProjectDialog(client)) view.refresh("new-project");
  });
  return [
    h("div", { class: "page-head" },
      h("div", null,
        h("p", { class: "crumbs" }, h("a", { href: "#/clients" }, "Clients"), " / "),
        h("h1", { class: "cell-wrap" }, client.name),
        h("p", { class: "sub" }, client.email)),
      h("div", { class: "actions" },
        h("a", { class: "btn btn-secondary", href: `#/licenses${query({ clientId: client._id })}` }, "Licenses"),
        h("a", { class: "btn btn-secondary", href: `#/events${query({ subject: client._id })}` }, "History"),
        h("button", { type: "button", class: "btn btn-secondary", "data-focus": "edit-client", onclick: guard(() => editClient(client, view, "edit-client")) }, "Edit"),
        h("button", { type: "button", class: "btn btn-danger-quiet", onclick: guard(() => deleteClient(client, view, true)) }, "Delete"))),
    h("section", { "aria-labelledby": "projects-h" },
      h("div", { class: "section-head" },
        h("h2", { id: "projects-h" }, `Projects (${projects.length})`),
        h("button", { type: "button", class: "btn", "data-focus": "new-project", onclick: newProject() }, "New project")),
      h("div", { class: "tree-wrap" }, projects.length === 0
        ? emptyState("No projects yet. A project is a product this client bought; it comes with its first license key.",
          h("button", { type: "button", class: "btn", onclick: newProject() }, "Create the first project"))
        : h("ul", { class: "tree", "aria-label": `Projects and licenses of ${client.name}` }, projects.map((p) => projectNode(client, p, view))))),
  ];
}

function projectNode(client, p, view) {
  const add = () => guard(() => addLicense(client, p, view));
  return h("li", { class: "tree-project" },
    h("div", { class: "tree-project-head" },
      h("div", null, h("h3", null, p.name), h("p", { class: "muted" }, plural(p.licenses.length, "license", "licenses"))),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "btn btn-secondary btn-small", "aria-label": `Policy of ${p.name}`, onclick: guard(() => editPolicy(p)) }, "Policy"),
        h("button", { type: "button", class: "btn btn-secondary btn-small", "aria-label": `Rename ${p.name}`, "data-focus": `rename-${p._id}`, onclick: guard(() => renameProject(p, view)) }, "Rename"),
        h("button", { type: "button", class: "btn btn-danger-quiet btn-small", "aria-label": `Delete ${p.name}`, onclick: guard(() => deleteProject(p, view)) }, "Delete"),
        h("button", { type: "button", class: "btn btn-secondary btn-small", "aria-label": `Add a license to ${p.name}`, onclick: add() }, "Add license"))),
    p.licenses.length === 0
      ? h("div", { class: "tree-empty" }, h("p", null, "No licenses."),
        h("button", { type: "button", class: "btn btn-small", onclick: add() }, "Issue a license"))
      : h("ul", { class: "tree-licenses" }, p.licenses.map((l) => licenseNode(l))));
}

// licenseNode is a license of the tree, revoked or restored in one click:
// the change is made at once, and a message offers to undo it.
function licenseNode(l) {
  const status = h("span", null, badge(l.status));
  const meta = h("span", { class: "meta" }, licenseSummary(l));
  const toggle = h("button", { type: "button", class: "btn btn-small" });
  const label = () => {
    const revoking = l.status !== "REVOKED";
    toggle.textContent = revoking ? "Revoke" : "Restore";
    toggle.className = `btn btn-small ${revoking ? "btn-danger-quiet" : "btn-secondary"}`;
    toggle.setAttribute("aria-label", `${revoking ? "Revoke" : "Restore"} ${l.key}`);
    toggle.hidden = l.status === "EXPIRED";
  };
  const flip = async (undoing) => {
    toggle.disabled = true;
    try {
      const res = await api("PATCH", `/license/revoke/${seg(l.key)}`);
      l.status = res.status;
    } finally {
      toggle.disabled = false;
    }
    status.replaceChildren(badge(l.status));
    label();
    const revoked = l.status === "REVOKED";
    const said = revoked ? `License ${l.key} revoked.` : `License ${l.key} restored: it is ${l.status} again.`;
    if (undoing) {
      notify(said, "success");
      return;
    }
    notify(said, "success", { label: "Undo", aria: `Undo: ${revoked ? "restore" : "revoke"} ${l.key}`, run: guard(() => flip(true)) });
  };
  toggle.addEventListener("click", guard(() => flip(false)));
  label();
  return h("li", { "data-license": l.key },
    h("span", { class: "key-line" }, keyLink(l.key), copyButton(l.key)),
    status, meta, toggle);
}

// newProjectDialog creates a project with its first license, for client
// (or, without one, for a client chosen in the dialog). It resolves with
// the API's answer, or undefined when dismissed.
export async function newProjectDialog(client) {
  const fields = [];
  if (!client) fields.push(clientPicker());
  fields.push(
    input({ name: "projectName", label: "Project name", required: true }),
    select({ name: "duration", label: "License duration", options: durationOptions, value: "12", hint: "Counted from the first activation." }),
    checks({ name: "services", label: "Services", options: serviceOptions, checked: ["Hosting"] }));
  const res = await formDialog({
    title: "New project",
    intro: client
      ? `A project is a product sold to ${client.name}. It is created with its first license key.`
      : "A project is a product sold to a client. It is created with its first license key.",
    fields,
    submitLabel: "Create project and license",
    submit: (v) => api("POST", "/projects/createProject", {
      clientId: client ? client._id : v.clientId, projectName: v.projectName, duration: Number(v.duration), services: v.services,
    }),
  });
  if (!res) return undefined;
  notify(`Project “${res.project.name}” created with license ${res.license.key}.`, "success");
  return res;
}

// clientPicker chooses one of the caller's clients, or makes a new one.
export function clientPicker(opts = {}) {
  const field = picker({
    name: "clientId", label: "Client", kind: "client", ...opts,
    create: {
      label: (q) => (q ? `New client “${q}”…` : "New client…"),
      run: async (q) => {
        const c = await newClientDialog(q);
        if (c) {
          field.pick(c._id, c.name);
          opts.onChange?.(c._id, c);
        }
        field.focusBox();
      },
    },
  });
  return field;
}

async function renameProject(p, view) {
  const res = await formDialog({
    title: "Rename project",
    fields: [input({ name: "name", label: "Project name", value: p.name, required: true })],
    submitLabel: "Rename",
    submit: (v) => api("PATCH", `/projects/${seg(p._id)}`, { name: v.name }),
  });
  if (!res) return;
  rememberProjects([res.project]);
  notify(`Project renamed “${res.project.name}”.`, "success");
  view.refresh(`rename-${p._id}`);
}

// deleteProject asks first; a project with licenses is deleted, with its
// licenses and their seats, only after a second, explicit confirmation.
async function deleteProject(p, view) {
  const ok = await confirm({
    title: "Delete this project?",
    message: `“${p.name}” will be deleted.`,
    confirmLabel: "Delete project",
  });
  if (!ok) return;
  try {
    await api("DELETE", `/projects/${seg(p._id)}`);
  } catch (err) {
    if (err.status !== 409) throw err;
    const all = await confirm({
      title: "This project has licenses",
      message: [
        `“${p.name}” has ${plural(p.licenses.length, "license", "licenses")}. Deleting the project also deletes them and every activation of them.`,
        "Applications using those keys will stop working. This cannot be undone.",
      ],
      confirmLabel: "Delete project and its licenses",
    });
    if (!all) return;
    await api("DELETE", `/projects/${seg(p._id)}${query({ cascade: "true" })}`);
  }
  notify(`Project “${p.name}” deleted.`, "success");
  view.refresh("new-project");
}

async function addLicense(client, project, view) {
  const res = await newLicenseDialog({ client, project });
  if (!res) return;
  notify(`License ${res.license.key} created.`, "success");
  view.refresh();
}

// policySummary is one line about a project's policy.
export function policySummary(pol) {
  const parts = [
    pol.duration ? plural(pol.duration, "month", "months") : "duration chosen per license",
    plural(pol.maxMachines, "seat", "seats"),
    pol.leaseSeconds ? `seats lapse after ${leaseText(pol.leaseSeconds)} of silence` : "seats kept until freed",
  ];
  if (pol.requireMachineId) parts.push("machine ID required");
  parts.push(pol.entitlements.length ? `entitlements ${pol.entitlements.join(", ")}` : "no entitlements");
  return parts.join(" · ");
}

// editPolicy shows a project's policy, the defaults its new licenses copy,
// and changes it.
async function editPolicy(p) {
  const { policy } = await api("GET", `/projects/${seg(p._id)}/policy`);
  const res = await formDialog({
    title: `Policy of ${p.name}`,
    intro: `New licenses of this project start with these terms: ${policySummary(policy)}. Licenses already issued keep theirs.`,
    fields: [
      h("div", { class: "fields-row" },
        select({ name: "duration", label: "Duration", options: [["0", "Chosen per license"], ...durationOptions], value: String(policy.duration) }),
        input({ name: "maxMachines", label: "Seats", type: "number", value: String(policy.maxMachines), attrs: { min: "1", max: "1000", inputmode: "numeric" } })),
      input({
        name: "leaseSeconds", label: "Lease (seconds)", type: "number", value: String(policy.leaseSeconds), attrs: { min: "0", inputmode: "numeric" },
        hint: "0 keeps a seat until it is freed. From 60: a seat lapses when its machine has been silent that long (floating licenses).",
      }),
      input({ name: "entitlements", label: "Entitlements", value: policy.entitlements.join(", "), hint: "Feature codes, separated by commas: pro, export.", attrs: { autocomplete: "off", spellcheck: "false" } }),
      checkbox({ name: "requireMachineId", label: "Require a machine ID", checked: policy.requireMachineId, hint: "Refuse activations and validations that send none." }),
    ],
    submitLabel: "Save policy",
    submit: (v) => api("PATCH", `/projects/${seg(p._id)}/policy`, {
      duration: Number(v.duration),
      maxMachines: v.maxMachines,
      leaseSeconds: v.leaseSeconds,
      entitlements: codesOf(v.entitlements),
      requireMachineId: v.requireMachineId.length > 0,
    }),
  });
  if (!res) return;
  notify(`Policy of “${p.name}” saved: ${policySummary(res.policy)}.`, "success");
}
