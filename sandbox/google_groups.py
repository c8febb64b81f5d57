"""Contact groups as an account has them: its own (user) groups, and Google's system groups.

Every account lists the system groups besides its own: `contactGroups/myContacts` and
`contactGroups/starred` (the only system groups that take new members), and six older ones the
reference calls deprecated ("The only system contact groups that can have members added are
`contactGroups/myContacts` and `contactGroups/starred`. Other system contact groups are
deprecated and can only have contacts removed.",
https://developers.google.com/people/api/rest/v1/contactGroups.members/modify;
ContactGroupMembership in people.v1.json). Names, English `formattedName`s and order as
contactGroups.list returns them: user groups first, then the system groups, which carry no
etag or metadata. Sandbox choice: user groups by name.
"""

from __future__ import annotations

import sqlite3

SYSTEM_GROUP = "SYSTEM_CONTACT_GROUP"
USER_GROUP = "USER_CONTACT_GROUP"
# id -> formattedName, in the order contactGroups.list lists them
SYSTEM_GROUPS = {
    "chatBuddies": "Chat contacts",
    "all": "All Contacts",
    "myContacts": "My Contacts",
    "friends": "Friends",
    "family": "Family",
    "coworkers": "Coworkers",
    "blocked": "Blocked",
    "starred": "Starred",
}
TAKE_MEMBERS = frozenset({"myContacts", "starred"})
EVERYONE = frozenset({"myContacts", "all"})  # groups every contact is in

_COLUMNS = "id, name, group_type, version, update_time"


def all_groups(conn: sqlite3.Connection) -> list[tuple]:
    """(id, name, group_type, version, update_time) of every group, in list order."""
    stored = {row[0]: row for row in conn.execute(f"SELECT {_COLUMNS} FROM g_groups")}
    users = sorted((r for r in stored.values() if r[2] == USER_GROUP), key=lambda r: r[1])
    system = [stored.get(g, (g, g, SYSTEM_GROUP, 1, 0)) for g in SYSTEM_GROUPS]
    return [*users, *system]


def find_group(conn: sqlite3.Connection, group_id: str) -> tuple | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM g_groups WHERE id = ?", (group_id,)).fetchone()
    if row is None and group_id in SYSTEM_GROUPS:
        row = (group_id, group_id, SYSTEM_GROUP, 1, 0)
    return row


def formatted_name(group_id: str, name: str) -> str:
    return SYSTEM_GROUPS.get(group_id, name)


def takes_members(row: tuple) -> bool:
    return row[2] == USER_GROUP or row[0] in TAKE_MEMBERS
