// Users administration, for an ADMIN: every account, its role, and
// deleting one (with what it owns, when asked twice).

import { api, query, seg, session } from "./api.js";
import { h, table, time, notify, errorNotice, guard } from "./ui.js";
import { confirm } from "./dialog.js";

const roles = [["DEVELOPER", "Developer"], ["ADMIN", "Administrator"]];

export async function usersPage(view) {
  let users;
  try {
    users = (await api("GET", "/auth/users")).users;
  } catch (err) {
    if (err.status !== 403) throw err;
    return [h("h1", null, "Users"), errorNotice({ message: "Only an administrator manages the accounts of this KeyBox." })];
  }
  const me = session()?.user?.id;
  return [
    h("div", { class: "page-head" },
      h("div", null, h("h1", null, "Users"),
        h("p", { class: "sub" }, "Everyone with an account on this KeyBox. Each developer sees only their own clients and licenses."))),
    table("Users", [
      { label: "Name", cell: (u) => h("span", { class: "cell-name" }, u.name, u._id === me ? h("span", { class: "muted" }, " (you)") : null) },
      { label: "Email", cell: (u) => h("span", { class: "cell-wrap" }, u.email) },
      { label: "Role", cell: (u) => u._id === me ? roleName(u.role) : roleSelect(u, view) },
      { label: "Since", cell: (u) => time(u.createdAt) },
      {
        label: "", class: "actions-cell", cell: (u) => u._id === me ? null : h("button", {
          type: "button", class: "btn btn-danger-quiet btn-small", "aria-label": `Delete ${u.name}`, onclick: guard(() => deleteUser(u, view)),
        }, "Delete"),
      },
    ], users),
  ];
}

function roleName(role) {
  return roles.find(([r]) => r === role)?.[1] ?? role;
}

// roleSelect changes an account's role as soon as another is chosen; the
// account's sessions end with the change.
function roleSelect(u) {
  const sel = h("select", { "aria-label": `Role of ${u.name}`, "data-user": u._id },
    roles.map(([v, l]) => h("option", { value: v, selected: v === u.role }, l)));
  sel.value = u.role;
  sel.addEventListener("change", guard(async () => {
    const role = sel.value;
    try {
      await api("PATCH", `/auth/users/${seg(u._id)}`, { role });
    } catch (err) {
      sel.value = u.role;
      throw err;
    }
    u.role = role;
    notify(`${u.name} is now ${role === "ADMIN" ? "an administrator" : "a developer"}; their sessions have ended.`, "success");
  }));
  return sel;
}

// deleteUser asks first; an account that owns clients is deleted, with
// everything it owns, only after a second, explicit confirmation.
async function deleteUser(u, view) {
  const ok = await confirm({
    title: "Delete this account?",
    message: `${u.name} (${u.email}) will no longer be able to log in.`,
    confirmLabel: "Delete account",
  });
  if (!ok) return;
  try {
    await api("DELETE", `/auth/users/${seg(u._id)}`);
  } catch (err) {
    if (err.status !== 409 || !/has clients/.test(err.body.message || "")) throw err;
    const all = await confirm({
      title: "This account has clients",
      message: [
        `${u.name} has clients. Deleting the account also deletes its clients, their projects and licenses, and every activation of those licenses.`,
        "Applications using those keys will stop working. This cannot be undone.",
      ],
      confirmLabel: "Delete the account and all it owns",
    });
    if (!all) return;
    await api("DELETE", `/auth/users/${seg(u._id)}${query({ cascade: "true" })}`);
  }
  notify(`The account of ${u.name} is deleted.`, "success");
  view.refresh();
}
