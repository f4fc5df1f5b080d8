// The dashboard's shell: the session, the header and the router. Views are
// chosen by the URL's hash (#/clients/ID), so the server serves one page.

import { session, onSessionChange, endSession, exchangeSignInCode } from "./api.js";
import { h, errorNotice } from "./ui.js";
import { forget } from "./names.js";
import { loginPage, signupPage } from "./auth.js";
import { homePage } from "./home.js";
import { clientsPage, clientPage } from "./clients.js";
import { licensesPage, licensePage } from "./licenses.js";
import { tokensPage } from "./tokens.js";
import { webhooksPage, webhookPage } from "./webhooks.js";
import { eventsPage } from "./events.js";

const main = document.getElementById("main");

// Routes: a pattern of the hash path and the view that shows it.
const routes = [
  [/^$/, homePage],
  [/^clients$/, clientsPage],
  [/^clients\/([^/]+)$/, clientPage],
  [/^licenses$/, licensesPage],
  [/^licenses\/([^/]+)$/, licensePage],
  [/^tokens$/, tokensPage],
  [/^webhooks$/, webhooksPage],
  [/^webhooks\/([^/]+)$/, webhookPage],
  [/^events$/, eventsPage],
];
const publicRoutes = { login: loginPage, signup: signupPage };

let rendering = 0;
let returnTo = "";
let endMessage = "";

function parseHash() {
  const raw = location.hash.startsWith("#/") ? location.hash.slice(2) : "";
  const [path, q = ""] = raw.split("?");
  return { path: path.replace(/\/+$/, ""), params: new URLSearchParams(q) };
}

// go changes the view; replace keeps the history entry.
function go(hash, replace = false) {
  if (replace) {
    history.replaceState(null, "", hash);
    render();
  } else if (location.hash === hash) {
    render();
  } else {
    location.hash = hash;
  }
}

// render shows the view of the current hash. focus names the element to
// focus afterwards (a data-focus value), else the page's heading.
async function render(focus) {
  const me = ++rendering;
  const { path, params } = parseHash();
  if (path === "signin") {
    finishSignIn(me, params.get("code") || "");
    return;
  }
  const s = session();
  showChrome(s, path);

  if (!s) {
    const page = publicRoutes[path];
    if (!page) {
      if (path) returnTo = location.hash;
      go("#/login", true);
      return;
    }
    const message = endMessage;
    endMessage = "";
    show(me, page({ message, done: loggedIn, params }), focus);
    return;
  }
  if (publicRoutes[path]) {
    go("#/", true);
    return;
  }

  forget();
  let match = null;
  const route = routes.find(([re]) => (match = re.exec(path)));
  if (!route) {
    show(me, notFound("There is no such page."), focus);
    return;
  }
  const view = {
    params,
    alive: () => me === rendering,
    refresh: (f) => render(f),
    go,
  };
  main.replaceChildren(h("p", { class: "loading" }, "Loading…"));
  try {
    const nodes = await route[1](view, ...match.slice(1).map(decodeURIComponent));
    show(me, nodes, focus);
  } catch (err) {
    if (me !== rendering || err.status === 401) return;
    show(me, notFound(err.message), focus);
  }
}

// finishSignIn ends a sign-in through a provider, which comes back to
// #/signin?code=…: the code leaves the address (and the history) at once,
// and is exchanged for a session.
async function finishSignIn(me, code) {
  history.replaceState(null, "", "#/signin");
  showChrome(null, "");
  main.replaceChildren(h("p", { class: "loading" }, "Signing you in…"));
  try {
    await exchangeSignInCode(code);
  } catch (err) {
    if (me === rendering) go(err.status === 400 || err.status === 401 ? "#/login?error=code" : "#/login?error=failed", true);
    return;
  }
  if (me === rendering) go("#/", true);
}

function show(me, nodes, focus) {
  if (me !== rendering) return;
  main.replaceChildren(...[].concat(nodes));
  const heading = main.querySelector("h1");
  document.title = heading ? `${heading.textContent} · KeyBox` : "KeyBox";
  const target = (focus && main.querySelector(`[data-focus="${CSS.escape(focus)}"]`)) || heading;
  if (target) {
    if (target === heading) heading.setAttribute("tabindex", "-1");
    target.focus({ preventScroll: target === heading });
  }
}

function notFound(message) {
  return h("section", { class: "panel" },
    h("h1", null, "Not available"),
    errorNotice({ message }),
    h("p", null, h("a", { href: "#/" }, "Back to the overview")));
}

function showChrome(s, path) {
  document.getElementById("nav").hidden = !s;
  document.getElementById("account").hidden = !s;
  document.getElementById("who").textContent = s?.user ? s.user.name || s.user.email : "";
  const section = path.split("/")[0];
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.dataset.nav === section) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

function loggedIn() {
  const next = returnTo;
  returnTo = "";
  go(next && next !== "#/login" ? next : "#/", true);
}

onSessionChange((reason) => {
  forget();
  if (reason === "login") {
    go(location.hash.startsWith("#/login") || location.hash.startsWith("#/signup") ? "#/" : location.hash, true);
    return;
  }
  for (const d of document.querySelectorAll("dialog")) d.close();
  endMessage = reason === "expired" ? "Your session has ended. Please log in again." : "You have logged out.";
  returnTo = reason === "expired" ? location.hash : "";
  go("#/login", true);
});

document.getElementById("logout").addEventListener("click", () => endSession("logout"));
document.getElementById("skip").addEventListener("click", (e) => {
  e.preventDefault();
  main.focus();
});
window.addEventListener("hashchange", () => render());

render();
