// Names of clients and projects by id, for tables of licenses (which carry
// only ids). Filled from lists already fetched, and one request per unknown
// id otherwise; emptied when the session ends, so the next user of this
// browser sees nothing of the last one's.

import { api, seg } from "./api.js";

const clients = new Map();
const projects = new Map();

export function forget() {
  clients.clear();
  projects.clear();
}

// A long session's caches are emptied now and then rather than grown
// without end.
const MAX = 5000;

function room(cache) {
  if (cache.size >= MAX) cache.clear();
}

export function rememberClients(list) {
  room(clients);
  for (const c of list) clients.set(c._id, Promise.resolve(c.name));
}

export function rememberProjects(list) {
  room(projects);
  for (const p of list) projects.set(p._id, Promise.resolve(p.name));
}

function lookup(cache, id, path, member) {
  if (!cache.has(id)) {
    room(cache);
    cache.set(id, api("GET", `${path}/${seg(id)}`).then((r) => r[member].name, () => {
      cache.delete(id);
      return null;
    }));
  }
  return cache.get(id);
}

export const clientName = (id) => lookup(clients, id, "/clients", "client");
export const projectName = (id) => lookup(projects, id, "/projects", "project");

// names resolves the client and project names of a list of licenses.
export async function namesOf(licenses) {
  const ids = (key) => [...new Set(licenses.map((l) => l[key]))];
  const c = ids("client");
  const p = ids("project");
  const [cn, pn] = await Promise.all([Promise.all(c.map(clientName)), Promise.all(p.map(projectName))]);
  return {
    client: new Map(c.map((id, i) => [id, cn[i]])),
    project: new Map(p.map((id, i) => [id, pn[i]])),
  };
}
