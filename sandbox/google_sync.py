"""people.connections.list beyond one listing: page tokens tied to the request that made them,
and sync tokens (`requestSyncToken`, `syncToken`, `nextSyncToken`) over a log of the changes
made through the API.

Reference: https://developers.google.com/people/api/rest/v1/people.connections/list
- "When the page_token or sync_token is specified, all other request parameters must match the
  first call."
- requestSyncToken: "Whether the response should return `next_sync_token` on the last page of
  results."
- "When the sync_token is specified, resources deleted since the last sync will be returned as
  a person with `PersonMetadata.deleted` set to true."
- "Sync tokens expire 7 days after the full sync. A request with an expired sync token will get
  an error with an google.rpc.ErrorInfo with reason "EXPIRED_SYNC_TOKEN"." Google answers it
  with HTTP 400 FAILED_PRECONDITION and the message below (as clients meet it, e.g.
  github.com/garrytan/gbrain/issues/5127); the sandbox counts the 7 days from the sync that
  issued the token.

Sandbox choices where the docs are silent: tokens are opaque base64 JSON; a page token holds a
hash of the other parameters; the change log records writes made through this emulator (a
person written straight into the database by the seed or a test is not a change).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from typing import Any

from sandbox.google_shapes import (
    bad_request,
    google_error,
    make_etag,
    page_token,
    read_page_token,
    source_id,
)
from sandbox.http import HttpError, Request
from sandbox.store import Store

SYNC_TOKEN_DAYS = 7
MUST_MATCH = (
    "When the page_token is specified, all other request parameters must match the first call "
    "that provided the page token."
)
SYNC_MUST_MATCH = (
    "When the sync_token is specified, all other request parameters must match the first call."
)
EXPIRED = "Sync token is expired. Clear local cache and retry call without the sync token."
# The parameters a page token and a sync token are tied to (system parameters such as `alt`
# are not request parameters of the method).
PAGE_PARAMETERS = (
    "personFields",
    "requestMask.includeField",
    "pageSize",
    "sortOrder",
    "requestSyncToken",
    "sources",
    "syncToken",
)
SYNC_PARAMETERS = ("personFields", "requestMask.includeField", "pageSize", "sources")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS g_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id TEXT NOT NULL,
    deleted INTEGER NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS g_changes_person ON g_changes (person_id, seq);
"""


class ChangeLog:
    """Every person written or deleted through the API, in order: what an incremental sync
    returns."""

    def __init__(self, store: Store) -> None:
        self.store = store
        with store.write() as conn:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)

    def record(self, conn: sqlite3.Connection, person_ids: list[str], *, deleted: bool) -> None:
        now = self.store.now_ms()
        conn.executemany(
            "INSERT INTO g_changes (person_id, deleted, at_ms) VALUES (?, ?, ?)",
            [(pid, int(deleted), now) for pid in person_ids],
        )

    @staticmethod
    def last(conn: sqlite3.Connection) -> int:
        return conn.execute("SELECT COALESCE(MAX(seq), 0) FROM g_changes").fetchone()[0]

    @staticmethod
    def changed(
        conn: sqlite3.Connection, after: int, upto: int, size: int
    ) -> tuple[list[tuple[str, int]], bool, int]:
        """(person_id, last change) after `after` up to `upto`, oldest change first, a page of
        `size`; whether more follow; how many people changed in all."""
        rows = conn.execute(
            "SELECT person_id, MAX(seq) AS last FROM g_changes WHERE seq > ? AND seq <= ? "
            "GROUP BY person_id ORDER BY last LIMIT ?",
            (after, upto, size + 1),
        ).fetchall()
        total = conn.execute(
            "SELECT COUNT(DISTINCT person_id) FROM g_changes WHERE seq > ? AND seq <= ?",
            (after, upto),
        ).fetchone()[0]
        return [(r[0], r[1]) for r in rows[:size]], len(rows) > size, total


def parameters_key(req: Request, names: tuple[str, ...]) -> str:
    values = {name: req.args(name) for name in names if req.args(name)}
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]


def wants_sync_token(req: Request) -> bool:
    return (req.arg("requestSyncToken") or "").lower() == "true"


def read_cursor(req: Request) -> dict[str, Any] | None:
    """The page token's cursor, refused when the request's parameters are not the first call's."""
    token = req.arg("pageToken")
    if not token:
        return None
    cursor = read_page_token(token)
    if cursor.get("q") != parameters_key(req, PAGE_PARAMETERS):
        raise bad_request(MUST_MATCH)
    return cursor


def next_page_token(req: Request, **cursor: Any) -> str:
    return page_token({"q": parameters_key(req, PAGE_PARAMETERS), **cursor})


def sync_token(req: Request, upto: int, now_ms: int) -> str:
    return page_token({"sync": upto, "t": now_ms, "q": parameters_key(req, SYNC_PARAMETERS)})


def read_sync_token(req: Request, now_ms: int) -> int:
    """The change the token was issued at; refused when expired or when the parameters differ."""
    try:
        data = read_page_token(req.arg("syncToken") or "")
        upto, issued = int(data["sync"]), int(data["t"])
    except (HttpError, KeyError, TypeError, ValueError) as exc:
        raise bad_request("Sync token is not valid.") from exc
    if now_ms - issued > SYNC_TOKEN_DAYS * 86_400_000:
        response = google_error(400, "FAILED_PRECONDITION", EXPIRED)
        response.body["error"]["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "EXPIRED_SYNC_TOKEN",
                "domain": "people.googleapis.com",
            }
        ]
        raise HttpError(response)
    if data.get("q") != parameters_key(req, SYNC_PARAMETERS):
        raise bad_request(SYNC_MUST_MATCH)
    return upto


def deleted_person(person_id: str) -> dict[str, Any]:
    """What a sync returns for a person deleted since: its name, and `metadata.deleted`."""
    return {
        "resourceName": f"people/{person_id}",
        "etag": make_etag("person", person_id, 0),
        "metadata": {
            "sources": [{"type": "CONTACT", "id": source_id(person_id)}],
            "objectType": "PERSON",
            "deleted": True,
        },
    }
