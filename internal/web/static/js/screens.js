// Every screen of the dashboard in one table: the pattern of its address
// (the hash's path, #/clients/ID), the function that builds it, and for the
// screens in the main navigation, the link's label. A new screen is one
// module and one line here; the navigation follows from the table.

import { homePage } from "./home.js";
import { clientsPage, clientPage } from "./clients.js";
import { licensesPage, licensePage } from "./licenses.js";
import { accountPage } from "./account.js";
import { usersPage } from "./users.js";
import { tokensPage } from "./tokens.js";
import { webhooksPage, webhookPage } from "./webhooks.js";
import { eventsPage } from "./events.js";

// nav: the link's label in the main navigation, if it has one; admin: only
// an ADMIN is offered the link (the API refuses the others anyway).
export const screens = [
  { path: /^$/, view: homePage, nav: "Overview" },
  { path: /^clients$/, view: clientsPage, nav: "Clients" },
  { path: /^clients\/([^/]+)$/, view: clientPage },
  { path: /^licenses$/, view: licensesPage, nav: "Licenses" },
  { path: /^licenses\/([^/]+)$/, view: licensePage },
  { path: /^tokens$/, view: tokensPage, nav: "Tokens" },
  { path: /^webhooks$/, view: webhooksPage, nav: "Webhooks" },
  { path: /^webhooks\/([^/]+)$/, view: webhookPage },
  { path: /^events$/, view: eventsPage, nav: "Events" },
  { path: /^users$/, view: usersPage, nav: "Users", admin: true },
  { path: /^account$/, view: accountPage },
];

// section is the first part of a screen's path (the nav link it belongs to).
export function section(re) {
  return re.source.replace(/^\^/, "").replace(/\$$/, "").split("\\/")[0];
}
