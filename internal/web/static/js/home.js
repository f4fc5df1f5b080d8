// The overview: licenses by status, those expiring soon, and validations per day.

import { api, query, seg } from "./api.js";
import { h, svg, num, plural, keyLink, time, relative, day, table, emptyState, guard, notify } from "./ui.js";
import { namesOf } from "./names.js";
import { newClientDialog } from "./clients.js";
import { newLicenseDialog } from "./licenses.js";

const statuses = [
  ["ACTIVE", "Active"],
  ["PENDING", "Not activated yet"],
  ["EXPIRED", "Expired"],
  ["REVOKED", "Revoked"],
];

export async function homePage(view) {
  const stats = await api("GET", "/dashboard/stats");
  const soon = stats.expiringSoon;
  const names = await namesOf(soon.licenses);
  return [
    stats.counts.total === 0 ? await firstSteps(view) : null,
    h("div", { class: "page-head" },
      h("div", null, h("h1", null, "Overview"), h("p", { class: "sub" }, "Your licenses at a glance.")),
      h("div", { class: "actions" },
        h("a", { class: "btn btn-secondary", href: "#/clients" }, "Clients"),
        h("a", { class: "btn", href: "#/licenses" }, "Licenses"))),
    h("section", { "aria-labelledby": "counts-h" },
      h("h2", { id: "counts-h", class: "sr-only" }, "Licenses by status"),
      h("div", { class: "stats" },
        stat("stat-total", "#/licenses", stats.counts.total, "All licenses"),
        statuses.map(([s, label]) => stat(`stat-${s}`, `#/licenses?status=${s}`, stats.counts[s], label, s)))),
    h("section", { class: "panel", "aria-labelledby": "soon-h" },
      h("div", { class: "section-head" },
        h("h2", { id: "soon-h" }, `Expiring in the next ${soon.days} days`),
        soon.count ? h("span", { class: "muted" }, plural(soon.count, "license", "licenses")) : null),
      soon.count === 0
        ? h("p", { class: "empty" }, `No active license expires in the next ${soon.days} days.`)
        : [
          table("Licenses expiring soon", [
            { label: "Key", cell: (l) => keyLink(l.key) },
            { label: "Client", cell: (l) => h("span", { class: "cell-wrap" }, names.client.get(l.client) ?? "—") },
            { label: "Project", cell: (l) => h("span", { class: "cell-wrap" }, names.project.get(l.project) ?? "—") },
            { label: "Expires", cell: (l) => h("span", null, time(l.expiresAt), " ", h("span", { class: "muted" }, `(${relative(l.expiresAt)})`)) },
          ], soon.licenses),
          soon.count > soon.licenses.length
            ? h("p", { class: "muted" }, `Showing the ${num(soon.licenses.length)} soonest.`)
            : null,
        ]),
    h("section", { class: "panel", "aria-labelledby": "val-h" },
      h("h2", { id: "val-h" }, "Validations per day, last 30 days"),
      validationChart(stats.validations)),
  ];
}

// firstSteps is the overview of an account with no license yet: the next
// thing to do, as a button.
async function firstSteps(view) {
  const clients = await api("GET", `/clients${query({ limit: 1 })}`);
  if (clients.total === 0) {
    return emptyState("Welcome! Start with a client: a customer you issue licenses to. Then give it a project, which comes with its first license key.",
      h("button", {
        type: "button", class: "btn", "data-focus": "first-client",
        onclick: guard(async () => {
          const c = await newClientDialog();
          if (c) view.go(`#/clients/${seg(c._id)}`);
        }),
      }, "Create your first client"));
  }
  return emptyState("No licenses yet. Issue the first one to a client's project.",
    h("button", {
      type: "button", class: "btn", onclick: guard(async () => {
        const res = await newLicenseDialog({});
        if (!res) return;
        notify(`License ${res.license.key} created.`, "success");
        view.refresh();
      }),
    }, "Issue your first license"));
}

function stat(cls, href, value, label, status) {
  return h("a", { class: `stat ${cls}`, href, "data-status": status || "total" },
    h("span", { class: "stat-value" }, num(value)),
    h("span", { class: "stat-label" }, label));
}

// validationChart draws the daily counts as bars in an inline SVG, with the
// numbers also given as a sentence and, on request, as a table.
function validationChart(days) {
  const total = days.reduce((s, d) => s + d.count, 0);
  const peak = days.reduce((best, d) => (d.count > best.count ? d : best), { count: 0 });
  const top = niceCeil(Math.max(peak.count, 1));
  // Drawn at about the size it is shown, so its text stays legible from a
  // phone to a wide screen.
  const W = Math.round(Math.min(1000, Math.max(300, document.getElementById("main").clientWidth - 56)));
  const H = 200;
  const pad = { left: 40, right: 8, top: 12, bottom: 28 };
  const plotW = W - pad.left - pad.right;
  const plotH = H - pad.top - pad.bottom;
  const slot = plotW / Math.max(days.length, 1);
  const barW = Math.max(slot * 0.7, 1);
  const y = (v) => pad.top + plotH - (v / top) * plotH;

  const grid = [0, top / 2, top].map((v) => [
    svg("line", { class: v === 0 ? "axis" : "grid", x1: pad.left, x2: W - pad.right, y1: y(v), y2: y(v) }),
    svg("text", { x: pad.left - 6, y: y(v) + 4, "text-anchor": "end" }, num(v)),
  ]);
  const bars = days.map((d, i) => {
    const x = pad.left + i * slot + (slot - barW) / 2;
    const hgt = (d.count / top) * plotH;
    return svg("rect", { class: "bar", x: x.toFixed(1), y: (pad.top + plotH - hgt).toFixed(1), width: barW.toFixed(1), height: hgt.toFixed(1), "data-date": d.date, "data-count": d.count },
      svg("title", null, `${day(d.date, true)}: ${plural(d.count, "validation", "validations")}`));
  });
  // Today, and every seventh day before it.
  const labels = days.map((d, i) => {
    if ((days.length - 1 - i) % 7 !== 0) return null;
    const last = i === days.length - 1;
    const x = last ? W - pad.right : pad.left + i * slot + slot / 2;
    return svg("text", { x: x.toFixed(1), y: H - 8, "text-anchor": last ? "end" : "middle" }, day(d.date));
  });

  const summary = total === 0
    ? "No validations in the last 30 days."
    : `${plural(total, "validation", "validations")} in the last 30 days; the busiest day was ${day(peak.date, true)} with ${num(peak.count)}.`;
  return h("figure", { class: "chart" },
    svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `Bar chart of validations per day. ${summary}` }, grid, bars, labels),
    h("figcaption", { class: "chart-summary" }, summary),
    h("details", null,
      h("summary", null, "Show the numbers"),
      table("Validations per day", [
        { label: "Day", cell: (d) => day(d.date, true) },
        { label: "Validations", cell: (d) => num(d.count) },
      ], [...days].reverse())));
}

// niceCeil rounds a maximum up to an even multiple of a power of ten, so the
// axis and its middle line show whole, round numbers.
function niceCeil(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 4, 6, 8, 10]) if (m * p >= v && (m > 1 || p > 1)) return m * p;
  return v;
}
