// A searchable picker of a client or a project: a combobox (WAI-ARIA's
// pattern, with a list box popup) that searches through the API as the
// person types, so that any of ten thousand clients can be chosen without
// the page ever holding more than one short page of them.

import { api, query } from "./api.js";
import { h, newId } from "./ui.js";
import { rememberClients, rememberProjects } from "./names.js";

const SHOWN = 8; // options per search
const WAIT = 200; // ms after the last key before searching

const kinds = {
  client: {
    path: "/clients", member: "clients", remember: rememberClients,
    text: (c) => c.name, detail: (c) => c.email, none: (q) => `No client matches “${q}”.`, empty: "You have no clients yet.",
  },
  project: {
    path: "/projects", member: "projects", remember: rememberProjects,
    text: (p) => p.name, detail: () => "", none: (q) => `No project matches “${q}”.`, empty: "No projects yet.",
  },
};

// picker returns a labelled field holding the chosen id under name.
// options: kind ("client" or "project"), value and text (the chosen one),
// any (the label of choosing none, e.g. "Any client"; without it one is
// required), scope() (the client whose projects to search), onChange(id,
// item), create ({label(q), run(q)}: an option to make a new one).
// The field has pick(id, text) and clear() to change it from outside.
export function picker({ name, label, kind, value = "", text = "", any, scope, onChange, create, hint, required }) {
  const k = kinds[kind];
  const id = newId("f");
  const listId = `${id}-list`;
  const statusId = `${id}-status`;
  const hidden = h("input", { type: "hidden", name, value });
  const box = h("input", {
    id, type: "text", role: "combobox", autocomplete: "off", spellcheck: "false",
    "aria-autocomplete": "list", "aria-expanded": "false", "aria-controls": listId,
    "data-field": name, "data-label": label, required: required || !any ? true : undefined,
    "aria-required": required || !any ? "true" : undefined, placeholder: any || `Type to search ${k.member}`,
  });
  box.value = text;
  const list = h("ul", { id: listId, role: "listbox", class: "combo-list", "aria-label": label, hidden: true });
  const status = h("p", { id: statusId, class: "combo-status", role: "status", "aria-live": "polite" });
  const err = h("p", { class: "field-error", id: `${id}-error`, hidden: true });
  box.setAttribute("aria-describedby", hint ? `${id}-hint ${statusId} ${id}-error` : `${statusId} ${id}-error`);

  let chosen = { id: value, text };
  let options = []; // [{id, text, item, create}]
  let active = -1;
  let timer = 0;
  let asked = 0;
  let inflight = null;

  const open = () => {
    list.hidden = false;
    box.setAttribute("aria-expanded", "true");
  };
  const close = () => {
    list.hidden = true;
    box.setAttribute("aria-expanded", "false");
    box.removeAttribute("aria-activedescendant");
    active = -1;
  };
  const setActive = (i) => {
    const items = list.querySelectorAll('[role="option"]');
    if (items.length === 0) return;
    active = (i + items.length) % items.length;
    items.forEach((el, j) => el.setAttribute("aria-selected", String(j === active)));
    box.setAttribute("aria-activedescendant", items[active].id);
    items[active].scrollIntoView({ block: "nearest" });
  };
  const choose = (o) => {
    if (o.create) {
      close();
      create.run(box.value.trim());
      return;
    }
    const changed = o.id !== chosen.id;
    chosen = { id: o.id, text: o.text };
    hidden.value = o.id;
    box.value = o.text;
    close();
    if (changed) onChange?.(o.id, o.item);
  };

  const render = (q, data) => {
    list.dataset.q = q; // what the options answer (tests wait for it)
    options = [];
    if (any) options.push({ id: "", text: "", label: any });
    for (const item of data[k.member]) options.push({ id: item._id, text: k.text(item), label: k.text(item), detail: k.detail(item), item });
    if (create) options.push({ create: true, label: create.label(q) });
    list.replaceChildren(...options.map((o, i) => h("li", {
      id: `${id}-o${i}`, role: "option", "aria-selected": "false", class: o.create ? "combo-create" : undefined,
      onmousedown: (e) => e.preventDefault(), // keep the focus in the box
      onclick: () => choose(o),
    }, h("span", { class: "combo-name" }, o.label), o.detail ? h("span", { class: "combo-detail" }, o.detail) : null)));
    const n = data[k.member].length;
    status.textContent = data.total === 0
      ? (q ? k.none(q) : k.empty)
      : data.total > n ? `${n} of ${data.total.toLocaleString()} shown: type to narrow the search.` : "";
    open();
    if (q && n > 0) setActive(any ? 1 : 0);
  };

  // search asks the API for the first matches of what is typed; an answer
  // that is no longer the latest question is dropped.
  const search = async () => {
    const mine = ++asked;
    inflight?.abort();
    inflight = new AbortController();
    const q = box.value.trim() === chosen.text ? "" : box.value.trim();
    const params = { q, limit: SHOWN };
    if (kind === "project") params.clientId = scope?.() || "";
    let data;
    try {
      data = await api("GET", `${k.path}${query(params)}`, undefined, inflight.signal);
    } catch (e) {
      if (mine === asked && e.name !== "AbortError" && e.status !== 401) status.textContent = e.message;
      return;
    }
    if (mine !== asked || document.activeElement !== box) return;
    k.remember(data[k.member]);
    render(q, data);
  };
  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(search, WAIT);
  };

  box.addEventListener("input", later);
  // The list opens by itself on focus only while nothing is chosen; else
  // on typing, on a click, or with the arrow keys.
  box.addEventListener("focus", () => {
    box.select();
    if (!chosen.id && !any) later();
  });
  box.addEventListener("click", () => {
    if (list.hidden) later();
  });
  box.addEventListener("keydown", (e) => {
    const expanded = !list.hidden;
    switch (e.key) {
      case "ArrowDown":
      case "ArrowUp":
        e.preventDefault();
        if (!expanded) {
          clearTimeout(timer);
          search();
          return;
        }
        setActive(active + (e.key === "ArrowDown" ? 1 : -1));
        return;
      case "Enter":
        if (expanded && active >= 0) {
          e.preventDefault();
          choose(options[active]);
        } else if (expanded) {
          e.preventDefault(); // not a submit of the half-typed search
        }
        return;
      case "Escape":
        if (expanded) {
          e.preventDefault(); // the list closes, not the dialog around it
          e.stopPropagation();
          close();
          box.value = chosen.text;
        }
        return;
      case "Tab":
        close();
        return;
    }
  });
  box.addEventListener("blur", () => {
    clearTimeout(timer);
    inflight?.abort();
    close();
    // What was typed without choosing is not a choice: show the chosen
    // one again, or none when the box was emptied and none is allowed.
    if (box.value.trim() === "" && any && chosen.id !== "") {
      choose({ id: "", text: "" });
    } else {
      box.value = chosen.text;
    }
  });

  const field = h("div", { class: "field picker", "data-field": name },
    h("label", { for: id }, label),
    hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null,
    h("div", { class: "combo" }, box, list),
    hidden, status, err);
  field.pick = (pid, ptext) => {
    chosen = { id: pid, text: ptext };
    hidden.value = pid;
    box.value = ptext;
  };
  field.value = () => chosen.id;
  field.focusBox = () => box.focus();
  return field;
}
