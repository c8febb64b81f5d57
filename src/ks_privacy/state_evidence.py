"""The tables decisions read, mirrored into the audit chain, so that nobody can change them
without `verify` noticing.

`ks_requests` (deadlines), `ks_legal_holds` (what the sweep must not touch), `ks_plan` (what
apply acts on) and `ks_clock_ledger` (when a retention clock started) are working state that
the suite updates and deletes. Every write to them is followed, in the same transaction, by one
evidence row per written row: event `state.<table>`, `record_ref` the row's key, outcome
`written` (or `deleted`, or `adopted` for rows that existed when this mirroring began), and in
`details` the sha256 of the row as stored. `reconcile` reads each table back and names every row
whose state is not the last one the chain recorded: edited, deleted or inserted by hand.

The hash is over every column (read back with `SELECT *`, so a column a later migration adds is
covered too), times in the chain's canonical form.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ks_privacy.audit_db import connection
from ks_privacy.evidence import AuditTrail, Evidence, RunContext, canonical_time

# table -> its key columns (the last one may vary within one call of `record`)
MIRRORED: dict[str, tuple[str, ...]] = {
    "ks_requests": ("request_ref",),
    "ks_legal_holds": ("subject_ref",),
    "ks_plan": ("dag_id", "run_id", "source", "record_ref"),
    "ks_clock_ledger": ("source", "record_ref"),
    # the request vault's data keys: a key destroyed early, or still there after close, is found
    # (the ciphertext table needs no mirror: without its key it cannot be read)
    "ks_request_keys": ("request_ref",),
}
WRITTEN, DELETED, ADOPTED = "written", "deleted", "adopted"
EVENT_PREFIX = "state."
_BATCH = 500

_kinds_lock = threading.Lock()
_kinds: dict[tuple[str, str], dict[str, str]] = {}  # (database, table) -> column -> kind


def event_for(table: str) -> str:
    return EVENT_PREFIX + table


def _column_kinds(conn: Connection, table: str, columns: Iterable[str]) -> dict[str, str]:
    """column -> "time" | "date" | "value", from the table's declared types (SQLite returns
    times as text, so the type cannot be read off the value). Re-read when a column appears."""
    key = (conn.engine.url.render_as_string(hide_password=True), table)
    wanted = set(columns)
    with _kinds_lock:
        known = _kinds.get(key)
    if known is None or not wanted <= set(known):
        known = {}
        for column in sa.inspect(conn).get_columns(table):
            kind = column["type"]
            if isinstance(kind, sa.DateTime):
                known[column["name"]] = "time"
            elif isinstance(kind, sa.Date):
                known[column["name"]] = "date"
            else:
                known[column["name"]] = "value"
        with _kinds_lock:
            _kinds[key] = known
    return known


def _canonical(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "time":
        return canonical_time(value)
    if kind == "date" or isinstance(value, date | datetime):
        return str(value)[:10]
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    if isinstance(value, int | float | str | bool):
        return value
    return str(value)


def state_hash(row: Mapping[str, Any], kinds: Mapping[str, str]) -> str:
    """sha256 over the canonical JSON of a row: every column, keys sorted."""
    canonical = {name: _canonical(value, kinds.get(name, "value")) for name, value in row.items()}
    payload = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def key_text(table: str, row: Mapping[str, Any]) -> str:
    """The row's key as the chain records it: the value itself for a one-column key, a JSON
    list for a composite one (`["ks_retention_daily","scheduled__...","tawk","chat-7"]`)."""
    values = [row[c] for c in MIRRORED[table]]
    if len(values) == 1:
        return str(values[0])
    return json.dumps([str(v) for v in values], separators=(",", ":"), ensure_ascii=True)


def _read(conn: Connection, table: str, fixed: Mapping[str, Any], last: Sequence[Any]) -> list:
    *fixed_columns, varying = MIRRORED[table]
    if set(fixed) != set(fixed_columns):
        raise ValueError(f"{table}: give {fixed_columns} as fixed key columns, not {sorted(fixed)}")
    where = " AND ".join(f"{c} = :{c}" for c in fixed_columns)
    where = (where + " AND " if where else "") + f"{varying} IN :__values"
    query = sa.text(f"SELECT * FROM {table} WHERE {where}").bindparams(
        sa.bindparam("__values", expanding=True)
    )
    return list(conn.execute(query, {**fixed, "__values": list(last)}).mappings())


def record(
    conn: Connection,
    table: str,
    fixed: Mapping[str, Any],
    last: Sequence[Any],
    context: RunContext | None = None,
) -> int:
    """After writing rows of `table` in `conn`'s transaction: append one `state.<table>` row
    per key (the fixed key columns' values, and each value of the last key column), carrying
    the hash of the row as now stored, or `deleted` if it is gone. Returns the rows appended.

    `context` says who wrote (the running task when omitted)."""
    if not last:
        return 0
    trail = AuditTrail(conn.engine, context or RunContext.current(RunContext(task_id="state")))
    varying = MIRRORED[table][-1]
    appended = 0
    values = list(dict.fromkeys(last))
    for start in range(0, len(values), _BATCH):
        chunk = values[start : start + _BATCH]
        found = {row[varying]: row for row in _read(conn, table, fixed, chunk)}
        kinds = _column_kinds(conn, table, next(iter(found.values())).keys()) if found else {}
        events = []
        for value in chunk:
            row = found.get(value)
            source = fixed.get("source") or (row.get("source") if row is not None else None)
            if row is None:
                key_row = {**fixed, varying: value}
                events.append(_state_event(table, key_text(table, key_row), DELETED, None, source))
            else:
                digest = state_hash(row, kinds)
                events.append(_state_event(table, key_text(table, row), WRITTEN, digest, source))
        appended += len(trail.append(events, conn))
    return appended


def _state_event(table: str, key: str, outcome: str, digest: str | None, source) -> Evidence:
    return Evidence(
        event=event_for(table),
        outcome=outcome,
        source=source,
        record_ref=key,
        details={"sha256": digest} if digest else {},
    )


def adopt_existing(conn: Connection) -> int:
    """Migration 005: rows written before the mirroring began enter the proof as they are now
    (outcome `adopted`). What happened to them before cannot be proven; what happens after can."""
    trail = AuditTrail(conn.engine, RunContext("migration", "005_state_evidence", "migrate", 0))
    appended = 0
    for table in MIRRORED:
        if not sa.inspect(conn).has_table(table):
            continue
        batch: list[Evidence] = []
        for row in conn.execute(sa.text(f"SELECT * FROM {table}")).mappings():
            kinds = _column_kinds(conn, table, row.keys())
            batch.append(
                _state_event(
                    table, key_text(table, row), ADOPTED, state_hash(row, kinds), row.get("source")
                )
            )
            if len(batch) >= _BATCH:
                appended += len(trail.append(batch, conn))
                batch = []
        appended += len(trail.append(batch, conn))
    return appended


# ---- reconciliation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mismatch:
    table: str
    key: str
    text: str


def _last_recorded(conn: Connection, table: str) -> dict[str, tuple[int, str, str | None]]:
    """key -> (seq, outcome, sha256) of the newest `state.<table>` row for it."""
    result = conn.execution_options(stream_results=True, yield_per=5000).execute(
        sa.text(
            "SELECT seq, record_ref, outcome, details FROM ks_evidence WHERE event = :e "
            "ORDER BY seq"
        ),
        {"e": event_for(table)},
    )
    last: dict[str, tuple[int, str, str | None]] = {}
    for seq, key, outcome, details in result:
        last[key] = (int(seq), outcome, json.loads(details or "{}").get("sha256"))
    return last


def _table_rows(conn: Connection, table: str) -> Iterator[dict]:
    result = conn.execution_options(stream_results=True, yield_per=5000).execute(
        sa.text(f"SELECT * FROM {table}")
    )
    for row in result.mappings():
        yield dict(row)


def reconcile(engine: Engine) -> tuple[int, list[Mismatch]]:
    """Compare every mirrored table with the chain; returns (rows checked, mismatches), naming
    each row whose stored state is not the one the chain recorded last. One snapshot (repeatable
    read on PostgreSQL), so a sweep committing meanwhile cannot look like tampering."""
    checked, found = 0, []
    with connection(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        for table in MIRRORED:
            if not sa.inspect(conn).has_table(table):
                continue
            recorded = _last_recorded(conn, table)
            for row in _table_rows(conn, table):
                checked += 1
                key = key_text(table, row)
                seq, outcome, digest = recorded.pop(key, (None, None, None))
                kinds = _column_kinds(conn, table, row.keys())
                if seq is None:
                    text = "is not in the evidence chain (inserted outside the suite)"
                elif outcome == DELETED:
                    text = f"exists, but evidence row #{seq} recorded it deleted"
                elif state_hash(row, kinds) != digest:
                    text = (
                        f"differs from its state in evidence row #{seq} (changed outside the suite)"
                    )
                else:
                    continue
                found.append(Mismatch(table, key, f"{table} row {key} {text}"))
            for key, (seq, outcome, _digest) in recorded.items():
                if outcome != DELETED:
                    found.append(
                        Mismatch(
                            table,
                            key,
                            f"{table} row {key} is missing; evidence row #{seq} recorded it "
                            "(deleted outside the suite)",
                        )
                    )
    found.sort(key=lambda m: (m.table, m.key))
    return checked, found
