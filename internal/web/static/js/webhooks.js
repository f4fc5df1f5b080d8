// Webhooks: endpoints that receive the account's events, signed with a
// secret shown once. The list says whether each is on (and if not, why) and
// how its last delivery went; a webhook's page shows its deliveries with
// every attempt, sends a test message and retries a failed delivery.
// Everything an endpoint answered is shown as text, never as HTML.

import { api, query, seg } from "./api.js";
import {
  h, table, pager, time, notify, errorNotice, copyButton, input, checks, checkbox, formDialog, confirm, guard, modal, num,
} from "./ui.js";
import { eventTypes } from "./events.js";

const ALL = "*";
const DELIVERY_PAGE = 10;

export async function webhooksPage(view) {
  let list;
  let last = [];
  let failure = null;
  try {
    list = (await api("GET", "/webhooks")).webhooks;
    // The newest delivery of each (an account has at most 20 webhooks).
    last = await Promise.all(list.map((w) => api("GET", `/webhooks/${seg(w._id)}/deliveries${query({ limit: 1 })}`)
      .then((r) => r.deliveries[0] ?? null, () => null)));
  } catch (err) {
    if (err.status === 401) throw err;
    failure = errorNotice(err);
  }
  return [
    h("div", { class: "page-head" },
      h("div", null, h("h1", null, "Webhooks"),
        h("p", { class: "sub" }, "Endpoints of yours that receive your events as they happen, each message signed with the webhook's secret.")),
      h("button", { type: "button", class: "btn", "data-focus": "new-webhook", onclick: guard(() => createWebhook(view)) }, "New webhook")),
    failure || webhookList(list, last, view),
  ];
}

function webhookList(list, last, view) {
  if (list.length === 0) {
    return h("div", { class: "panel empty" },
      h("p", null, "No webhooks. Add one to have your billing system or chat told when a license is created, revoked or expires."),
      h("p", null, h("button", { type: "button", class: "btn btn-secondary", onclick: guard(() => createWebhook(view)) }, "Add a webhook")));
  }
  const lastOf = new Map(list.map((w, i) => [w._id, last[i]]));
  return table("Webhooks", [
    {
      label: "Endpoint", cell: (w) => h("div", { class: "cell-wrap" },
        h("a", { class: "cell-name", href: `#/webhooks/${seg(w._id)}` }, w.url),
        w.description ? h("p", { class: "muted" }, w.description) : null),
    },
    { label: "Events", cell: (w) => h("span", { class: "cell-wrap" }, eventsSummary(w.events)) },
    { label: "State", cell: (w) => stateCell(w) },
    { label: "Last delivery", cell: (w) => lastDelivery(lastOf.get(w._id)) },
  ], list);
}

export function eventsSummary(events) {
  return events.includes(ALL) ? "All events" : events.join(", ");
}

// stateCell says whether a webhook is on, and why not: turned off by its
// owner, or by the server after days of failures.
function stateCell(w) {
  if (w.enabled) {
    return h("div", { class: "state" }, h("span", { class: "badge badge-on" }, "Enabled"),
      w.failingSince ? h("p", { class: "reason" }, "Failing since ", time(w.failingSince, true)) : null);
  }
  return h("div", { class: "state" }, h("span", { class: "badge badge-off" }, "Disabled"),
    h("p", { class: "reason" }, w.failingSince
      ? ["Turned off automatically ", time(w.disabledAt, true), ": every delivery failed since ", time(w.failingSince, true), "."]
      : ["Turned off by you ", time(w.disabledAt, true), "."]));
}

function lastDelivery(d) {
  if (!d) return h("span", { class: "muted" }, "None yet");
  const a = d.log[d.log.length - 1];
  return h("div", { class: "state" }, deliveryBadge(d),
    h("p", { class: "reason" }, h("code", null, d.type), " ", time(a ? a.at : d.createdAt, true), a ? ` · ${answerText(a)}` : ""));
}

function deliveryBadge(d) {
  const label = d.status === "pending" && d.attempts > 0 ? "retrying" : d.status;
  return h("span", { class: `badge badge-delivery-${label}`, "data-status": d.status }, label);
}

// answerText is one attempt's outcome in words.
function answerText(a) {
  const took = `${num(a.durationMs)} ms`;
  if (a.statusCode) return `HTTP ${a.statusCode} in ${took}`;
  return `no answer (${a.error || "failed"}) after ${took}`;
}

// --- the form ---

// eventChoice is the event filter: every event, or chosen types.
function eventChoice(checked) {
  const box = checks({
    name: "events", label: "Events to send",
    options: [[ALL, "All events, including types added later"], ...eventTypes.map((t) => [t, t])],
    checked,
  });
  box.classList.add("event-choice");
  const all = box.querySelector(`input[value="${ALL}"]`);
  const sync = () => {
    for (const c of box.querySelectorAll(`input[type="checkbox"]:not([value="${ALL}"])`)) c.disabled = all.checked;
  };
  all.addEventListener("change", sync);
  sync();
  return box;
}

function webhookFields(w, withEnabled) {
  return [
    input({
      name: "url", label: "Endpoint URL", type: "url", value: w?.url || "", hint: "http or https; each event is POSTed to it.",
      attrs: { autocomplete: "off", spellcheck: "false", inputmode: "url" },
    }),
    eventChoice(w ? w.events : [ALL]),
    input({ name: "description", label: "Description (optional)", value: w?.description || "", hint: "What the endpoint is: billing, Slack." }),
    withEnabled ? checkbox({ name: "enabled", label: "Enabled", checked: w.enabled, hint: "Turned off, it is sent nothing (its waiting deliveries are given up); turned on, its failures are forgotten." }) : null,
  ];
}

function chosenEvents(v) {
  return v.events.includes(ALL) ? [ALL] : v.events;
}

async function createWebhook(view) {
  const res = await formDialog({
    title: "New webhook",
    fields: webhookFields(null, false),
    submitLabel: "Create webhook",
    submit: (v) => api("POST", "/webhooks", { url: v.url.trim(), events: chosenEvents(v), description: v.description }),
  });
  if (!res) return;
  await showSecret(res);
  view.refresh("new-webhook");
}

// showSecret shows a new webhook's signing secret, the only time it is shown.
function showSecret(res) {
  return modal("Copy the signing secret now", (close) => {
    const done = h("button", { type: "button", class: "btn", onclick: () => close(true) }, "Done");
    queueMicrotask(() => done.focus());
    return h("div", { class: "form" },
      h("p", null, `The webhook for ${res.webhook.url} is ready. Its endpoint needs this secret to check the webhook-signature of each message.`),
      h("p", { class: "notice notice-warning" }, h("strong", null, "You will not see it again."), " Copy it now and keep it where the endpoint reads its secrets."),
      h("p", { class: "key-line" }, h("code", { class: "key secret", "data-secret": "" }, res.secret), copyButton(res.secret, "secret")),
      h("div", { class: "form-actions" }, done));
  });
}

// --- one webhook ---

export async function webhookPage(view, id) {
  const { webhook: w } = await api("GET", `/webhooks/${seg(id)}`);
  const status = h("div", { class: "test-result", role: "status", "aria-live": "polite" });
  const state = h("div", null, stateCell(w));
  // The outcome of an attempt may change the webhook's state (failing
  // since when): shown afresh after each.
  const restate = async () => {
    try {
      const { webhook } = await api("GET", `/webhooks/${seg(w._id)}`);
      if (view.alive()) state.replaceChildren(stateCell(webhook));
    } catch {
      // The next load of the page says it.
    }
  };
  const results = h("div", { class: "results", tabindex: "-1" });
  let page = Number(view.params.get("page")) || 1;
  let loads = 0;

  const load = async (n) => {
    const mine = ++loads;
    let data;
    try {
      data = await api("GET", `/webhooks/${seg(w._id)}/deliveries${query({ page: n, limit: DELIVERY_PAGE })}`);
    } catch (err) {
      if (mine === loads && err.status !== 401) results.replaceChildren(errorNotice(err));
      return null;
    }
    if (mine !== loads || !view.alive()) return null;
    page = n;
    history.replaceState(null, "", `#/webhooks/${seg(w._id)}${query({ page: n > 1 ? n : "" })}`);
    results.replaceChildren(deliveryTable(data, retry), pager(data, async (p) => {
      await load(p);
      results.focus();
    }));
    return data;
  };

  // watch reloads the deliveries until the worker has attempted delivery
  // id again (more than before attempts), then says how it went.
  const watch = async (id, before, what) => {
    for (let i = 0; i < 30 && view.alive(); i++) {
      const data = await load(page);
      const d = data?.deliveries.find((x) => x._id === id);
      if (d && d.attempts > before) {
        const a = d.log[d.log.length - 1];
        const ok = d.status === "delivered";
        status.replaceChildren(h("p", { class: `notice ${ok ? "notice-success" : "notice-error"}`, "data-outcome": ok ? "delivered" : "failed" },
          `${what} ${ok ? "delivered" : "failed"}: ${answerText(a)}.`,
          d.nextAttemptAt ? [" Next retry ", time(d.nextAttemptAt, true), "."] : ""));
        await restate();
        return;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    if (view.alive()) status.replaceChildren(h("p", { class: "notice" }, `${what} is queued; its outcome will show in the deliveries below.`));
  };

  const sendTest = async () => {
    const res = await api("POST", `/webhooks/${seg(w._id)}/test`);
    status.replaceChildren(h("p", { class: "notice" }, "Test message queued…"));
    page = 1; // the newest delivery
    await watch(res.delivery._id, 0, "Test message");
  };

  async function retry(d) {
    await api("POST", `/webhooks/${seg(w._id)}/deliveries/${seg(d._id)}/retry`);
    status.replaceChildren(h("p", { class: "notice" }, "Retry queued…"));
    await watch(d._id, d.attempts, "Retried message");
  }

  await load(page);
  const toggle = w.enabled
    ? h("button", { type: "button", class: "btn btn-secondary", "data-focus": "toggle", onclick: guard(() => setEnabled(w, false, view)) }, "Turn off")
    : h("button", { type: "button", class: "btn btn-secondary", "data-focus": "toggle", onclick: guard(() => setEnabled(w, true, view)) }, "Turn on");
  return [
    h("div", { class: "page-head" },
      h("div", null,
        h("p", { class: "crumbs" }, h("a", { href: "#/webhooks" }, "Webhooks"), " / "),
        h("h1", { class: "cell-wrap" }, w.url),
        w.description ? h("p", { class: "sub" }, w.description) : null),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "btn", "data-focus": "test", onclick: guard(sendTest) }, "Send test"),
        h("button", { type: "button", class: "btn btn-secondary", "data-focus": "edit", onclick: guard(() => editWebhook(w, view)) }, "Edit"),
        toggle,
        h("button", { type: "button", class: "btn btn-danger-quiet", onclick: guard(() => deleteWebhook(w, view)) }, "Delete"))),
    h("section", { class: "panel", "aria-label": "Details" },
      h("dl", { class: "facts" },
        fact("State", state),
        fact("Events", eventsSummary(w.events)),
        fact("Created", time(w.createdAt, true)),
        fact("Secret", h("span", { class: "muted" }, "Shown once, when the webhook was made")))),
    status,
    h("section", { "aria-labelledby": "deliveries-h" },
      h("div", { class: "section-head" }, h("h2", { id: "deliveries-h" }, "Deliveries")),
      results),
  ];
}

function fact(label, value) {
  return h("div", null, h("dt", null, label), h("dd", null, value));
}

function deliveryTable(data, retry) {
  if (data.total === 0) {
    return h("p", { class: "panel empty" }, "No deliveries yet. Send a test message to check the endpoint.");
  }
  return table("Deliveries", [
    { label: "Message", cell: (d) => h("div", null, h("code", { class: "event-type" }, d.type), h("p", { class: "reason" }, time(d.createdAt, true))) },
    { label: "Status", cell: (d) => deliveryBadge(d) },
    { label: "Attempts", cell: (d) => num(d.attempts) },
    { label: "Last answer", cell: (d) => lastAnswer(d) },
    { label: "Response", class: "response-cell", cell: (d) => responseCell(d) },
    {
      label: "Next retry", cell: (d) => d.nextAttemptAt ? time(d.nextAttemptAt, true)
        : h("span", { class: "muted" }, d.status === "pending" ? "Being sent" : "—"),
    },
    {
      label: "", class: "actions-cell", cell: (d) => retryable(d)
        ? h("button", { type: "button", class: "btn btn-secondary btn-small", "aria-label": `Retry delivery ${d._id}`, onclick: guard(() => retry(d)) }, "Retry")
        : null,
    },
  ], data.deliveries);
}

// retryable: given up, or waiting for its next retry after a failure.
function retryable(d) {
  return d.status === "failed" || (d.status === "pending" && d.attempts > 0 && d.nextAttemptAt);
}

function lastAnswer(d) {
  const a = d.log[d.log.length - 1];
  if (!a) return h("span", { class: "muted" }, "Not sent yet");
  const line = h("span", { class: "cell-wrap" }, answerText(a));
  if (d.log.length < 2) return line;
  return h("div", null, line, h("details", { class: "attempts" },
    h("summary", null, `Every attempt (${d.log.length})`),
    h("ol", null, d.log.map((x) => h("li", null, time(x.at, true), ` · ${answerText(x)}`)))));
}

// responseCell shows the first bytes the endpoint answered, as text.
function responseCell(d) {
  const a = d.log[d.log.length - 1];
  if (!a || !a.response) return h("span", { class: "muted" }, "—");
  return h("pre", { class: "response" }, a.response);
}

async function editWebhook(w, view) {
  const res = await formDialog({
    title: "Edit webhook",
    fields: webhookFields(w, true),
    submitLabel: "Save changes",
    submit: (v) => api("PATCH", `/webhooks/${seg(w._id)}`, {
      url: v.url.trim(), events: chosenEvents(v), description: v.description, enabled: v.enabled.length > 0,
    }),
  });
  if (!res) return;
  notify("Webhook updated.", "success");
  view.refresh("edit");
}

async function setEnabled(w, on, view) {
  if (!on && !await confirm({
    title: "Turn this webhook off?",
    message: [`${w.url} will be sent nothing until it is turned on again.`, "Deliveries waiting for a retry are given up; you can retry them later."],
    confirmLabel: "Turn off",
  })) return;
  await api("PATCH", `/webhooks/${seg(w._id)}`, { enabled: on });
  notify(on ? "Webhook turned on." : "Webhook turned off.", "success");
  view.refresh("toggle");
}

async function deleteWebhook(w, view) {
  const ok = await confirm({
    title: "Delete this webhook?",
    message: [`${w.url} will be sent nothing more.`, "Its deliveries and their history are deleted with it. This cannot be undone."],
    confirmLabel: "Delete webhook",
  });
  if (!ok) return;
  try {
    await api("DELETE", `/webhooks/${seg(w._id)}`);
  } catch (err) {
    if (err.status !== 404) throw err; // deleted elsewhere meanwhile: gone either way
  }
  notify("Webhook deleted.", "success");
  view.go("#/webhooks");
}
