// The one way the dashboard talks to the server, and the login session.
//
// The token lives in localStorage (so a reload or a second tab keeps the
// session) and travels only in the Authorization header: never in a URL, never
// in a log line.

const STORAGE_KEY = "keybox.session";

// The API is mounted one level above the dashboard (/app/ → /), which keeps
// working behind a proxy that serves KeyBox under a path prefix.
const apiRoot = new URL("../", document.baseURI);

// An ApiError is a failed call, described in words a person can act on.
// fields maps form field names to what is wrong with each.
export class ApiError extends Error {
  constructor(status, body, headers) {
    super(describe(status, body || {}, headers));
    this.status = status;
    this.body = body || {};
    this.fields = fieldErrors(this.body);
  }
}

// Sentences the API uses that read better, for a person, said differently.
const friendlier = {
  "Invalid credentials": "The email address or password is not right.",
  "Unauthorized": "Your session has ended. Please log in again.",
  "No token provided": "Your session has ended. Please log in again.",
  "Invalid token format": "Your session has ended. Please log in again.",
  "Not found": "There is nothing at this address.",
  "Method not allowed": "The server does not allow this action.",
  "Request body too large": "That is too much data to send at once.",
  "Validation error": "Please correct the fields marked below.",
  "maxMachines is below the seats in use; free a seat first":
    "More machines than that are using this license. Free a seat first.",
  "Invalid maxMachines: use an integer from 1 to 1000": "Enter a whole number of seats from 1 to 1000.",
  "Expired license cannot be toggled; renew it instead": "An expired license cannot be revoked or restored. Renew it instead.",
  "Invalid or expired sign-in code": "This sign-in has expired or was already used. Please sign in again.",
};

// Messages that are about one field of a form, by that field's name.
const fieldOfMessage = {
  "Client name required": "name",
  "Client email required": "email",
  "Client with this email already exists": "email",
  "Passwords do not match": "confirm_password",
  "Current password is incorrect": "currentPassword",
  "Name must be a non-empty string of at most 200 characters": "name",
  "Project name required": "name",
  "Password must be at least 8 characters long": "password",
  "Please enter a valid email address": "email",
  "Email already registered": "email",
  "Invalid duration": "duration",
  "At least one service is required": "services",
  "Client ID & Project name required": "projectName",
  "Client & Project required": "projectId",
  "Invalid maxMachines: use an integer from 1 to 1000": "maxMachines",
  "maxMachines is below the seats in use; free a seat first": "maxMachines",
  "Invalid license key: use 4 to 128 printable characters without spaces": "key",
  "License key already exists": "key",
};

function describe(status, body, headers) {
  if (status === 0) return "The server cannot be reached. Check your connection and try again.";
  if (status === 429) {
    const wait = Number(headers?.get("Retry-After")) || 60;
    const minutes = Math.ceil(wait / 60);
    return wait < 90
      ? `Too many attempts. Please wait ${wait} seconds and try again.`
      : `Too many attempts. Please wait ${minutes} minutes and try again.`;
  }
  if (status >= 500) {
    const ref = typeof body.requestId === "string" ? ` If it keeps happening, give your administrator this reference: ${body.requestId}.` : "";
    return `Something went wrong on the server.${ref}`;
  }
  const message = typeof body.message === "string" ? body.message : "";
  if (friendlier[message]) return friendlier[message];
  return message || "The server refused this request.";
}

function sentence(s) {
  s = String(s);
  return s.charAt(0).toUpperCase() + s.slice(1) + (/[.!?]$/.test(s) ? "" : ".");
}

function fieldErrors(body) {
  const out = {};
  if (body.errors && typeof body.errors === "object") {
    for (const [name, reason] of Object.entries(body.errors)) out[name] = sentence(reason);
  }
  const message = typeof body.message === "string" ? body.message : "";
  const name = typeof body.field === "string" ? body.field : fieldOfMessage[message];
  if (name && !out[name]) out[name] = friendlier[message] || sentence(message);
  return out;
}

// --- session ---

let current = readSession();
let expiryTimer = 0;
const listeners = [];

function readSession() {
  try {
    const s = JSON.parse(localStorage.getItem(STORAGE_KEY) || "null");
    if (s && typeof s.token === "string" && typeof s.expiresAt === "number") return s;
  } catch {
    // A corrupt entry is no session.
  }
  return null;
}

// The token's lifetime from its own claims. The deadline is counted on this
// browser's clock from the moment the token came, so a server whose clock
// differs from the browser's does not end sessions early or late.
function lifetime(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(payload));
    if (Number.isFinite(claims.exp) && Number.isFinite(claims.iat) && claims.exp > claims.iat) {
      return (claims.exp - claims.iat) * 1000;
    }
  } catch {
    // Not a JWT we can read: the server will tell us when it has expired.
  }
  return 12 * 3600 * 1000;
}

export function session() {
  return current;
}

// onSessionChange registers fn(reason) for when the session ends
// ("expired", "logout", "logout-all"), another tab logs in as someone
// ("login"), or the token is renewed ("refresh": here or in another tab).
export function onSessionChange(fn) {
  listeners.push(fn);
}

function tell(reason) {
  for (const fn of listeners) fn(reason);
}

function armTimer() {
  clearTimeout(expiryTimer);
  if (!current) return;
  const left = current.expiresAt - Date.now();
  expiryTimer = setTimeout(checkExpiry, Math.min(Math.max(left, 0), 2 ** 31 - 1));
}

// checkExpiry ends the session once its deadline has passed. Timers of
// background tabs are delayed, so this also runs when the tab is shown again.
export function checkExpiry() {
  if (current && Date.now() >= current.expiresAt) endSession("expired");
  else armTimer();
}

export function endSession(reason) {
  const had = current !== null;
  current = null;
  clearTimeout(expiryTimer);
  localStorage.removeItem(STORAGE_KEY);
  if (had) tell(reason);
}

// login exchanges credentials for a session and returns the user.
export async function login(email, password) {
  return begin(await api("POST", "/auth/login", { email, password }));
}

// exchangeSignInCode exchanges the one-time code a provider sign-in ended
// with for a session and returns the user. The sign-in replaces whatever
// session this browser had, whether or not it succeeds: the person has just
// chosen who to be.
export async function exchangeSignInCode(code) {
  current = null;
  clearTimeout(expiryTimer);
  localStorage.removeItem(STORAGE_KEY);
  return begin(await api("POST", "/auth/exchange", { code }));
}

// begin starts the session of a successful login's answer.
async function begin(res) {
  const life = lifetime(res.token);
  current = { token: res.token, expiresAt: Date.now() + life, issuedAt: Date.now(), life, user: null };
  try {
    const me = await api("GET", "/auth/me");
    current.user = { id: me.user._id, name: me.user.name, email: me.user.email, role: me.user.role };
  } catch (err) {
    current = null;
    throw err;
  }
  save();
  return current.user;
}

function save() {
  localStorage.setItem(STORAGE_KEY, JSON.stringify(current));
  armTimer();
}

// adoptToken carries on with a fresh token of the same account (the answer
// of a refresh or of a password change, which ended every earlier one).
export function adoptToken(token) {
  if (!current) return;
  const life = lifetime(token);
  current = { ...current, token, expiresAt: Date.now() + life, issuedAt: Date.now(), life };
  save();
  tell("refresh");
}

// updateUser changes what the session knows of its account (a new name).
export function updateUser(user) {
  if (!current) return;
  current = { ...current, user: { ...current.user, ...user } };
  save();
  tell("refresh");
}

let refreshing = null;

// refresh asks for a fresh token (one request at a time) and carries on
// with it. It resolves false when the server refused.
export function refresh() {
  if (!current) return Promise.resolve(false);
  refreshing ??= api("POST", "/auth/refresh").then((res) => {
    adoptToken(res.token);
    return true;
  }, () => false).finally(() => { refreshing = null; });
  return refreshing;
}

// A change in another tab: a logout there ends this tab's session too, a
// login as someone logs this tab in as them, and a renewed token is taken
// over quietly (an open form is not disturbed).
window.addEventListener("storage", (e) => {
  if (e.key !== STORAGE_KEY && e.key !== null) return;
  const next = readSession();
  if (!next) {
    endSession("logout");
    return;
  }
  const was = current;
  current = next;
  armTimer();
  if (was && was.token === next.token) return;
  tell(was && was.user?.id && was.user.id === next.user?.id ? "refresh" : "login");
});
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") checkExpiry();
});
armTimer();

// --- requests ---

// api sends one request and returns the decoded JSON answer, or throws an
// ApiError. An answer of 401 to a logged-in call ends the session.
export async function api(method, path, body, signal) {
  if (current && Date.now() >= current.expiresAt) {
    endSession("expired");
    throw new ApiError(401, { message: "Unauthorized" });
  }
  const headers = { Accept: "application/json" };
  const init = { method, headers, cache: "no-store", credentials: "omit", signal };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const sent = current;
  if (sent) headers.Authorization = `Bearer ${sent.token}`;
  let res;
  try {
    res = await fetch(new URL(path.replace(/^\//, ""), apiRoot), init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, null);
  }
  noteServerTime(res);
  let data = null;
  if ((res.headers.get("Content-Type") || "").includes("application/json")) {
    try {
      data = await res.json();
    } catch {
      data = null;
    }
  }
  if (res.ok) return data || {};
  if (res.status === 401 && sent && sent === current) endSession("expired");
  throw new ApiError(res.status, data, res.headers);
}

// apiURL is the address of an API path, for links the browser follows
// itself (a provider sign-in starts with a navigation, not a request).
export function apiURL(path) {
  return new URL(path.replace(/^\//, ""), apiRoot).href;
}

// serverNow is the server's clock as last seen in an answer's Date header
// (to the second), so that what the server dates, such as when a seat's
// lease ends, is judged by its clock and not by this browser's.
let serverOffset = 0;

export function serverNow() {
  return Date.now() + serverOffset;
}

function noteServerTime(res) {
  const at = Date.parse(res.headers.get("Date") || "");
  if (Number.isFinite(at)) serverOffset = at - Date.now();
}

// query builds a query string from the set values of params.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

export function seg(s) {
  return encodeURIComponent(s);
}
