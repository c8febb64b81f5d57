"""The sandbox's one SQLite database: schema, connections, settings and the sandbox clock.

One file holds the state of all three emulators and the seed's truth table, so a seed is
reproducible, state survives a restart, and tests can look inside. WAL mode lets request threads
read while one writes; writes are serialised by one lock. Every request thread works on a
connection of its own, taken from a small pool and given back when the request is done.

Timestamps are INTEGER epoch milliseconds (UTC); each query the emulators run has an index.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);

-- ActiveCampaign ------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS ac_contacts (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL COLLATE NOCASE,
    first_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    ip INTEGER NOT NULL DEFAULT 0,
    ua TEXT,
    hash TEXT NOT NULL DEFAULT '',
    cdate INTEGER NOT NULL,
    udate INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ac_tags (
    id INTEGER PRIMARY KEY,
    tag TEXT NOT NULL,
    tag_type TEXT NOT NULL DEFAULT 'contact',
    description TEXT NOT NULL DEFAULT '',
    cdate INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ac_contact_tags (
    id INTEGER PRIMARY KEY,
    contact INTEGER NOT NULL,
    tag INTEGER NOT NULL,
    cdate INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ac_lists (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    stringid TEXT NOT NULL,
    cdate INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ac_contact_lists (
    id INTEGER PRIMARY KEY,
    contact INTEGER NOT NULL,
    list INTEGER NOT NULL,
    status INTEGER NOT NULL,
    sdate INTEGER,
    udate INTEGER,
    unsubreason TEXT,
    ip4_sub INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS ac_fields (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    type TEXT NOT NULL DEFAULT 'text',
    perstag TEXT NOT NULL,
    descript TEXT,
    ordernum INTEGER NOT NULL DEFAULT 0,
    cdate INTEGER NOT NULL,
    udate INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ac_field_values (
    id INTEGER PRIMARY KEY,
    contact INTEGER NOT NULL,
    field INTEGER NOT NULL,
    value TEXT,
    cdate INTEGER NOT NULL,
    udate INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ac_tracking_logs (
    id INTEGER PRIMARY KEY,
    contact INTEGER NOT NULL,
    type TEXT NOT NULL,
    value TEXT NOT NULL,
    hash TEXT NOT NULL,
    tstamp INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ac_geo_ips (
    id INTEGER PRIMARY KEY,
    contact INTEGER NOT NULL,
    ip4 INTEGER NOT NULL,
    tstamp INTEGER NOT NULL,
    country2 TEXT, country TEXT, state TEXT, city TEXT, zip TEXT, tz TEXT
);

-- Google People -------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS g_people (
    id INTEGER PRIMARY KEY,
    person_id TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    update_time INTEGER NOT NULL,
    given_name TEXT NOT NULL DEFAULT '' COLLATE NOCASE,
    family_name TEXT NOT NULL DEFAULT '' COLLATE NOCASE,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS g_groups (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    group_type TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    update_time INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS g_memberships (
    group_id TEXT NOT NULL,
    person INTEGER NOT NULL,
    PRIMARY KEY (group_id, person)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS g_tokens (
    token TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    scopes TEXT NOT NULL,
    expires REAL NOT NULL
);

-- Tawk ----------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS tawk_persons (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL,
    name TEXT, email TEXT, phone TEXT,
    created_on INTEGER NOT NULL,
    updated_on INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tawk_chats (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL,
    created_on INTEGER NOT NULL,
    ended_on INTEGER NOT NULL,
    last_message_on INTEGER NOT NULL,
    visitor_id TEXT NOT NULL,
    visitor_name TEXT, visitor_email TEXT, visitor_phone TEXT, visitor_ip TEXT,
    city TEXT, country TEXT,
    person_id TEXT,
    messages TEXT NOT NULL
);

-- The seed's truth, for tests ------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS seed_people (
    person_id INTEGER PRIMARY KEY,
    email TEXT NOT NULL,              -- normalised: trimmed, lower case
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    phones TEXT NOT NULL,             -- JSON list, 0-2 numbers
    street TEXT NOT NULL, postcode TEXT NOT NULL, city TEXT NOT NULL,
    gender TEXT NOT NULL,
    held INTEGER NOT NULL,            -- legal hold in every system the person is in
    systems TEXT NOT NULL,            -- e.g. 'activecampaign,google,tawk'
    ac_id INTEGER, ac_email TEXT, ac_created TEXT, ac_updated TEXT,
    google_resource TEXT, google_email TEXT, google_updated TEXT,
    tawk_person_id TEXT, tawk_chat_ids TEXT, tawk_email TEXT, tawk_last_activity TEXT,
    last_activity TEXT NOT NULL       -- latest record time over all systems (UTC, ISO 8601)
);
-- Personal data the seed put into custom fields, notes and chat messages, value by value: what
-- a field-level inventory must find (category: as docs/inventory.md names them).
CREATE TABLE IF NOT EXISTS seed_values (
    system TEXT NOT NULL,             -- activecampaign | google | tawk
    record_ref TEXT NOT NULL,         -- contact id, people/c..., chat id
    field TEXT NOT NULL,              -- as the inventory names it: custom:Mobiel, biographies
    category TEXT NOT NULL,
    value TEXT NOT NULL
);
"""

# Secondary indexes, created after a bulk load (cheaper than maintaining them row by row).
INDEXES = """
CREATE INDEX IF NOT EXISTS ac_contacts_udate ON ac_contacts (udate, id);
CREATE INDEX IF NOT EXISTS ac_contacts_cdate ON ac_contacts (cdate, id);
CREATE INDEX IF NOT EXISTS ac_contacts_email ON ac_contacts (email, id);
CREATE INDEX IF NOT EXISTS ac_contact_tags_contact ON ac_contact_tags (contact);
CREATE INDEX IF NOT EXISTS ac_contact_tags_tag ON ac_contact_tags (tag, contact);
CREATE INDEX IF NOT EXISTS ac_contact_lists_contact ON ac_contact_lists (contact, list);
CREATE INDEX IF NOT EXISTS ac_field_values_contact ON ac_field_values (contact);
CREATE INDEX IF NOT EXISTS ac_field_values_field ON ac_field_values (field, id);
CREATE INDEX IF NOT EXISTS ac_tracking_logs_contact ON ac_tracking_logs (contact);
CREATE INDEX IF NOT EXISTS ac_geo_ips_contact ON ac_geo_ips (contact);
CREATE UNIQUE INDEX IF NOT EXISTS g_people_person_id ON g_people (person_id);
CREATE INDEX IF NOT EXISTS g_people_update_time ON g_people (update_time, id);
CREATE INDEX IF NOT EXISTS g_people_given ON g_people (given_name, id);
CREATE INDEX IF NOT EXISTS g_people_family ON g_people (family_name, id);
CREATE INDEX IF NOT EXISTS g_memberships_person ON g_memberships (person, group_id);
CREATE INDEX IF NOT EXISTS tawk_chats_time ON tawk_chats (property_id, created_on, id);
CREATE INDEX IF NOT EXISTS seed_people_email ON seed_people (email);
"""

DATA_TABLES = (
    "ac_contacts",
    "ac_tags",
    "ac_contact_tags",
    "ac_lists",
    "ac_contact_lists",
    "ac_fields",
    "ac_field_values",
    "ac_tracking_logs",
    "ac_geo_ips",
    "g_people",
    "g_groups",
    "g_memberships",
    "tawk_persons",
    "tawk_chats",
    "seed_people",
    "seed_values",
)

_POOL_SIZE = 16


class Store:
    """Connections to the sandbox database, the write lock, settings and the sandbox's clock."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._write_lock = threading.RLock()
        self._pool: list[sqlite3.Connection] = []
        self._pool_lock = threading.Lock()
        self._closed = False
        with self._write_lock, self.connection() as conn:
            conn.executescript(SCHEMA)
        self.ensure_indexes()

    # -- connections ------------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA cache_size=-32000")
        conn.execute("PRAGMA temp_store=MEMORY")
        return conn

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """A connection for the calling thread alone, for the length of the `with` block."""
        with self._pool_lock:
            conn = self._pool.pop() if self._pool else None
        if conn is None:
            conn = self._open()
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.rollback()
            with self._pool_lock:
                if not self._closed and len(self._pool) < _POOL_SIZE:
                    self._pool.append(conn)
                    conn = None
            if conn is not None:
                conn.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One serialised write transaction: committed when the block ends, rolled back on error."""
        with self._write_lock, self.connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    def ensure_indexes(self) -> None:
        with self.write() as conn:
            for statement in INDEXES.strip().split(";"):
                if statement.strip():
                    conn.execute(statement)

    def drop_indexes(self) -> None:
        with self.write() as conn:
            names = [
                row[0]
                for row in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type='index' AND sql IS NOT NULL"
                )
            ]
            for name in names:
                conn.execute(f'DROP INDEX IF EXISTS "{name}"')

    def close(self) -> None:
        with self._pool_lock:
            self._closed = True
            pool, self._pool = self._pool, []
        for conn in pool:
            conn.close()

    # -- settings and the clock -------------------------------------------------------------------

    def get_setting(self, key: str, default: Any = None) -> Any:
        with self.connection() as conn:
            row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_setting(self, key: str, value: Any, conn: sqlite3.Connection | None = None) -> None:
        sql = (
            "INSERT INTO settings (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value"
        )
        if conn is not None:
            conn.execute(sql, (key, json.dumps(value)))
            return
        with self.write() as own:
            own.execute(sql, (key, json.dumps(value)))

    def now_ms(self) -> int:
        """The sandbox's "now": every timestamp an emulator writes. Set by the seed or a test."""
        value = self.get_setting("now_ms")
        if value is None:
            return int(time.time()) * 1000
        return int(value)

    def set_now(self, ms: int) -> None:
        self.set_setting("now_ms", int(ms))

    # -- inspection -------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        with self.connection() as conn:
            return {
                table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                for table in DATA_TABLES
            }
