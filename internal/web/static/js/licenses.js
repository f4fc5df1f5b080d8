// Licenses: the filterable table, one license's page with its actions and
// activations, and the dialog that issues a license.

import { api, query, seg, serverNow } from "./api.js";
import {
  h, table, pager, time, relative, notify, errorNotice, badge, keyLink, copyButton, plural, num,
  input, select, checks, checkbox, textarea, durationOptions, serviceOptions, formDialog, confirm, values, guard,
  codesOf, leaseText,
} from "./ui.js";
import { namesOf, rememberClients, rememberProjects, clientName, projectName } from "./names.js";

const PAGE_SIZE = 20;
const LIST_LIMIT = 100;
const statusOptions = [["", "Any status"], ["ACTIVE", "Active"], ["PENDING", "Not activated yet"], ["EXPIRED", "Expired"], ["REVOKED", "Revoked"]];

async function clientOptions(selected) {
  const res = await api("GET", `/clients${query({ limit: LIST_LIMIT })}`);
  rememberClients(res.clients);
  const options = res.clients.map((c) => [c._id, `${c.name} (${c.email})`]);
  if (selected && !options.some(([id]) => id === selected)) {
    const name = await clientName(selected);
    if (name !== null) options.unshift([selected, name]);
  }
  return options;
}

async function projectOptions(clientId) {
  const res = await api("GET", `/projects${query({ clientId, limit: LIST_LIMIT })}`);
  rememberProjects(res.projects);
  return res.projects.map((p) => [p._id, p.name]);
}

export async function licensesPage(view) {
  const p = view.params;
  const filters = { status: p.get("status") || "", clientId: p.get("clientId") || "", projectId: p.get("projectId") || "", q: p.get("q") || "" };
  const [clients, projects] = await Promise.all([clientOptions(filters.clientId), projectOptions(filters.clientId)]);

  const statusF = select({ name: "status", label: "Status", options: statusOptions, value: filters.status });
  const clientF = select({ name: "clientId", label: "Client", options: [["", "Any client"], ...clients], value: filters.clientId });
  const projectF = select({ name: "projectId", label: "Project", options: [["", "Any project"], ...projects], value: filters.projectId });
  const keyF = input({ name: "q", label: "Key contains", type: "search", value: filters.q, attrs: { autocomplete: "off", spellcheck: "false" } });
  const form = h("form", { class: "toolbar", role: "search", "aria-label": "Filter licenses" }, statusF, clientF, projectF, keyF);
  const results = h("div", { class: "results", tabindex: "-1", "aria-live": "polite" });
  let loads = 0;

  const load = async (page) => {
    const mine = ++loads;
    const f = values(form);
    f.q = f.q.trim();
    history.replaceState(null, "", `#/licenses${query({ ...f, page: page > 1 ? page : "" })}`);
    let data;
    let names;
    try {
      data = await api("GET", `/license${query({ ...f, page, limit: PAGE_SIZE })}`);
      names = await namesOf(data.licenses);
    } catch (err) {
      if (mine === loads && err.status !== 401) results.replaceChildren(errorNotice(err));
      return;
    }
    if (mine !== loads || !view.alive()) return;
    results.replaceChildren(licenseTable(data, names, f), pager(data, async (n) => {
      await load(n);
      results.focus();
    }));
  };

  const clientSelect = clientF.querySelector("select");
  const projectSelect = projectF.querySelector("select");
  clientSelect.addEventListener("change", guard(async () => {
    const options = await projectOptions(clientSelect.value);
    projectSelect.replaceChildren(...[["", "Any project"], ...options].map(([v, l]) => h("option", { value: v }, l)));
    await load(1);
  }));
  for (const el of [statusF, projectF]) el.querySelector("select").addEventListener("change", () => load(1));
  let timer = 0;
  keyF.querySelector("input").addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => load(1), 250);
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    load(1);
  });

  await load(Number(p.get("page")) || 1);
  return [
    h("div", { class: "page-head" },
      h("div", null, h("h1", null, "Licenses"), h("p", { class: "sub" }, "Every key you have issued.")),
      h("button", {
        type: "button", class: "btn", "data-focus": "new-license",
        onclick: guard(async () => {
          const res = await newLicenseDialog({ clientId: clientSelect.value, projectId: projectSelect.value });
          if (!res) return;
          notify(`License ${res.license.key} created.`, "success");
          view.refresh("new-license");
        }),
      }, "New license")),
    form,
    results,
  ];
}

function licenseTable(data, names, f) {
  if (data.total === 0) {
    const filtered = f.status || f.clientId || f.projectId || f.q;
    return h("p", { class: "panel empty" }, filtered
      ? "No license matches these filters."
      : "No licenses yet. Create a client and a project to issue the first one.");
  }
  return table("Licenses", [
    { label: "Key", cell: (l) => h("span", { class: "key-line" }, keyLink(l.key), copyButton(l.key)) },
    { label: "Status", cell: (l) => badge(l.status) },
    { label: "Client", cell: (l) => h("a", { class: "cell-wrap", href: `#/clients/${seg(l.client)}` }, names.client.get(l.client) ?? "—") },
    { label: "Project", cell: (l) => h("span", { class: "cell-wrap" }, names.project.get(l.project) ?? "—") },
    { label: "Expires", cell: (l) => l.activatedAt ? time(l.expiresAt) : h("span", { class: "muted" }, "Not activated") },
    { label: "Seats", cell: (l) => num(l.maxMachines) },
  ], data.licenses);
}

// newLicenseDialog issues a license. With a client and project given (from
// a client's page) it asks only about the license; otherwise it offers the
// caller's clients and then that client's projects.
export async function newLicenseDialog({ client, project, clientId = "", projectId = "" }) {
  const fixed = Boolean(client && project);
  const fields = [];
  let clientSelect;
  let projectSelect;
  if (!fixed) {
    const clients = await clientOptions(clientId);
    if (clients.length === 0) {
      notify("Create a client and a project first.", "error");
      return undefined;
    }
    clientId = clientId || clients[0][0];
    const projects = await projectOptions(clientId);
    const cf = select({ name: "clientId", label: "Client", options: clients, value: clientId });
    const pf = select({ name: "projectId", label: "Project", options: projects, value: projectId, hint: projects.length ? undefined : "This client has no projects yet: create one on the client's page." });
    clientSelect = cf.querySelector("select");
    projectSelect = pf.querySelector("select");
    clientSelect.addEventListener("change", guard(async () => {
      const options = await projectOptions(clientSelect.value);
      projectSelect.replaceChildren(...options.map(([v, l]) => h("option", { value: v }, l)));
      projectSelect.dispatchEvent(new Event("change"));
    }));
    fields.push(cf, pf);
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
  await usePolicy(fixed ? project._id : projectSelect.value);
  projectSelect?.addEventListener("change", guard(() => usePolicy(projectSelect.value)));
  fields.push(
    h("div", { class: "fields-row" }, durationF, seatsF),
    h("div", { class: "fields-row" }, leaseF, codesF),
    checks({ name: "services", label: "Services", options: serviceOptions, checked: ["Hosting"] }),
    input({ name: "key", label: "Key (optional)", hint: "Leave empty to generate one. To import an existing key, enter it here.", attrs: { autocomplete: "off", spellcheck: "false" } }),
  );
  return formDialog({
    title: fixed ? `New license for ${project.name}` : "New license",
    intro: "The terms start as the project's policy says.",
    fields,
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
