// The dashboard's shell: the session, the header and the router. Views are
// chosen by the URL's hash (#/clients/ID), so the server serves one page;
// the screens and the navigation are listed in screens.js.

import { api, session, onSessionChange, endSession, exchangeSignInCode } from "./api.js";
import { h, errorNotice, notify } from "./ui.js";
import { suspendDialogs, resumeDialogs } from "./dialog.js";
import { forget } from "./names.js";
import { loginPage, signupPage } from "./auth.js";
import { screens, section } from "./screens.js";
import "./session.js";

const main = document.getElementById("main");
const publicRoutes = { login: loginPage, signup: signupPage };

let rendering = 0;
let returnTo = "";
let endMessage = "";

function parseHash() {
  const raw = location.hash.startsWith("#/") ? location.hash.slice(2) : "";
  const [path, q = ""] = raw.split("?");
  return { path: path.replace(/\/+$/, ""), params: new URLSearchParams(q) };
}

// go changes the view; replace keeps the history entry. It resolves once
// the view is shown.
function go(hash, replace = false) {
  if (replace) {
    history.replaceState(null, "", hash);
    return render();
  }
  if (location.hash === hash) return render();
  location.hash = hash;
  return Promise.resolve();
}

// render shows the view of the current hash. focus names the element to
// focus afterwards (a data-focus value), else the page's heading.
async function render(focus) {
  const me = ++rendering;
  const { path, params } = parseHash();
  if (path === "signin") {
    await finishSignIn(me, params.get("code") || "");
    return;
  }
  const s = session();
  if (s?.user?.id) lastPerson = s.user.id;
  showChrome(s, path);

  if (!s) {
    const page = publicRoutes[path];
    if (!page) {
      if (path) returnTo = location.hash;
      await go("#/login", true);
      return;
    }
    // A fresh installation, where nobody can log in yet, opens on sign-up.
    const signup = signupStatus || await askSignup();
    if (me !== rendering) return;
    if (path === "login" && !params.get("error") && signup?.signup === "open" && signup.hasAccounts === false) {
      await go("#/signup", true);
      return;
    }
    const message = endMessage;
    endMessage = "";
    show(me, page({ message, done: loggedIn, params, signup }), focus);
    return;
  }
  if (publicRoutes[path]) {
    await go("#/", true);
    return;
  }

  let match = null;
  const screen = screens.find((sc) => (match = sc.path.exec(path)));
  if (!screen) {
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
    const nodes = await screen.view(view, ...match.slice(1).map(decodeURIComponent));
    show(me, nodes, focus);
  } catch (err) {
    if (me !== rendering || err.status === 401) return;
    show(me, notFound(err.message), focus);
  }
}

// signupStatus is kept once an account exists: from then on one always
// will, and whether signup is open changes only with a restart.
let signupStatus = null;

async function askSignup() {
  try {
    const st = await api("GET", "/auth/signup");
    if (st.hasAccounts) signupStatus = st;
    return st;
  } catch {
    return null; // without it, both pages still work
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
    if (me === rendering) await go(err.status === 400 || err.status === 401 ? "#/login?error=code" : "#/login?error=failed", true);
    return;
  }
  if (me === rendering) await go("#/", true);
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

// The navigation is made from the table of screens, for this account.
let navFor = null;

function showChrome(s, path) {
  const nav = document.getElementById("nav");
  nav.hidden = !s;
  document.getElementById("account").hidden = !s;
  const who = document.getElementById("who");
  who.textContent = s?.user ? s.user.name || s.user.email : "";
  const admin = s?.user?.role === "ADMIN";
  if (s && navFor !== admin) {
    navFor = admin;
    nav.replaceChildren(...screens.filter((sc) => sc.nav && (!sc.admin || admin)).map((sc) => {
      const sec = section(sc.path);
      return h("a", { href: `#/${sec}`, "data-nav": sec }, sc.nav);
    }));
  }
  const current = path.split("/")[0];
  for (const a of nav.querySelectorAll("a")) {
    if (a.dataset.nav === current) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (current === "account") who.setAttribute("aria-current", "page");
  else who.removeAttribute("aria-current");
}

// loggedIn returns to the page that was open, and to a form put aside when
// the session ended, if the same person logged in again.
async function loggedIn() {
  const next = returnTo;
  returnTo = "";
  await go(next && next !== "#/login" ? next : "#/", true);
  if (resumeDialogs(session()?.user?.id)) notify("Your session had ended: the form you were filling in is back.", "info");
}

// The person of the session, remembered so that a form kept when it ends
// is given back only to them.
let lastPerson = "";

onSessionChange((reason) => {
  if (reason === "refresh") {
    showChrome(session(), parseHash().path);
    return;
  }
  if (reason === "login") {
    // Another tab logged in: nothing of another person stays, and a form
    // put aside comes back if it is the same person.
    forget();
    navFor = null;
    const next = returnTo || (location.hash.startsWith("#/login") || location.hash.startsWith("#/signup") ? "#/" : location.hash);
    returnTo = "";
    go(next, true).then(() => resumeDialogs(session()?.user?.id));
    return;
  }
  forget();
  navFor = null;
  const kept = suspendDialogs(reason === "expired" ? lastPerson : "");
  if (reason === "expired") {
    endMessage = kept.length
      ? `Your session has ended. Log in again to carry on: what you typed in “${kept[0]}” is kept.`
      : "Your session has ended. Please log in again.";
  } else {
    endMessage = reason === "logout-all" ? "You have logged out everywhere." : "You have logged out.";
  }
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
