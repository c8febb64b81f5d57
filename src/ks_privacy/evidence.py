"""The audit trail: append-only, hash-chained evidence of what the suite did, free of personal data.

Each row's hash is sha256 over a canonical form of the row plus the previous row's hash, so an
edited, removed or reordered row breaks the chain at a row `verify` can name. Appends take a lock
(PostgreSQL advisory lock, SQLite's single writer) so concurrent tasks cannot fork the chain, and
database triggers refuse UPDATE and DELETE. Every appended event is also one structured log line,
so a task log tells an auditor what happened without opening the database.

Events (column `event`) and their outcomes:
- `scan.completed` (ok; details: counts per action and category, `total`, `full_scan`,
  `oldest.<category>`: age in days of the oldest value the run keeps)
- `scan.missed_by_incremental` (bug): a full scan found a due record the incremental one missed
- `guard.tripped` (stopped | dry_run), `guard.overridden` (overridden)
- `erase.intent` / `redact.intent` (intent): written before the vendor call
- `erase.outcome` / `redact.outcome` (erased | redacted | already_absent | failed | not_done):
  written after it; `recovered: true` in details when a retry read the record back instead
- `erase.dry_run` / `redact.dry_run` (dry_run), `hold` (held: legal hold, nothing touched)
- `manual.requested` (requested) / `manual.confirmed` (erased; details: confirmed_by)
- `verify` (verified | still_present): the read-back after an action
- `request.*`: data-subject requests (see ks_privacy.register and ks_privacy.tasks.subject_requests)
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ks_privacy.audit_db import connection, transaction
from ks_privacy.timeutil import as_utc

log = logging.getLogger("ks_privacy.evidence")

GENESIS_HASH = "0" * 64
_APPEND_LOCK = 0x6B735F65  # "ks_e": PostgreSQL advisory lock key for evidence appends
_SAFE_DETAIL = re.compile(r"^[\w .:/#=+,()\[\]-]{0,200}$")

COLUMNS = (
    "seq",
    "recorded_at",
    "dag_id",
    "run_id",
    "task_id",
    "try_number",
    "event",
    "source",
    "record_ref",
    "subject_ref",
    "categories",
    "rule",
    "age_days",
    "outcome",
    "details",
    "prev_hash",
)


@dataclass(frozen=True)
class RunContext:
    """Which Airflow task wrote the evidence (or `cli` for commands run by hand)."""

    dag_id: str = "cli"
    run_id: str = "cli"
    task_id: str = "cli"
    try_number: int = 0

    @classmethod
    def from_airflow(cls) -> RunContext:
        from airflow.sdk import get_current_context

        ctx = get_current_context()
        ti = ctx["ti"]
        return cls(ti.dag_id, ti.run_id, ti.task_id, ti.try_number)

    @classmethod
    def current(cls, default: RunContext) -> RunContext:
        """The running task's context, or `default` outside a task (a CLI, a test)."""
        try:
            return cls.from_airflow()
        except Exception:  # no task context here
            return default


@dataclass(frozen=True)
class Evidence:
    """One fact for the audit trail. Only refs, pseudonyms, kinds and counts: never a value."""

    event: str
    outcome: str
    source: str | None = None
    record_ref: str | None = None
    subject_ref: str | None = None
    categories: tuple[str, ...] = ()
    rule: str | None = None
    age_days: int | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        for key, value in self.details.items():
            if isinstance(value, str) and not _SAFE_DETAIL.match(value):
                raise ValueError(
                    f"evidence detail {key!r} is not a plain id, count or code; details must "
                    "never carry personal data"
                )


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    length: int
    head_seq: int | None
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None

    def summary(self) -> str:
        """The walk alone. "intact" is for `audit.chain_checks`, which also checks the anchors,
        the triggers and the mirrored tables: a walk that links up proves less than that."""
        if self.ok:
            return (
                f"hash chain links up: {self.length} rows, head #{self.head_seq} {self.head_hash}"
            )
        return f"audit chain BROKEN at row #{self.first_bad_seq}: {self.problem}"


@dataclass(frozen=True)
class ChainHead:
    """The newest row of the chain: what an anchor records and a digest can quote."""

    seq: int
    row_hash: str
    recorded_at: datetime

    @property
    def rows(self) -> int:
        return self.seq  # seq numbers run 1, 2, 3, ... without gaps in an intact chain


def chain_head(engine: Engine) -> ChainHead | None:
    """The chain's newest row as stored (None for an empty trail). It is not a verification:
    `ks_audit_verify` checks the chain and publishes the verified head as an anchor."""
    with connection(engine) as conn:
        row = conn.execute(
            sa.text("SELECT seq, row_hash, recorded_at FROM ks_evidence ORDER BY seq DESC LIMIT 1")
        ).first()
    return ChainHead(int(row[0]), row[1], as_utc(row[2])) if row else None


def canonical_time(value: datetime | str) -> str:
    """The one text form of a time the hashes (and the CSV, and anchors) use."""
    if isinstance(value, str):  # SQLite hands back its text form
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:  # SQLite returns naive values; we only ever store UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_details(details: Mapping[str, Any]) -> str:
    return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def row_hash(row: Mapping[str, Any]) -> str:
    """sha256 over the canonical JSON of every column but the hash itself."""
    canonical = {key: row[key] for key in COLUMNS}
    canonical["recorded_at"] = canonical_time(row["recorded_at"])
    payload = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def log_line(row: Mapping[str, Any]) -> str:
    """The structured log line an auditor reads in the task log; one per evidence row."""
    parts = [
        f"seq={row['seq']}",
        f"event={row['event']}",
        f"outcome={row['outcome']}",
        f"source={row['source'] or '-'}",
        f"ref={row['record_ref'] or '-'}",
        f"subject={row['subject_ref'] or '-'}",
        f"categories={row['categories'] or '-'}",
        f"rule={row['rule'] or '-'}",
        f"age_days={'-' if row['age_days'] is None else row['age_days']}",
    ]
    if row["details"] != "{}":
        parts.append(f"details={row['details']}")
    return "EVIDENCE " + " ".join(parts)


_evidence = sa.table("ks_evidence", *(sa.column(c) for c in (*COLUMNS, "row_hash")))


class AuditTrail:
    """Appends evidence and verifies the chain. Bound to one run context (who is writing)."""

    def __init__(self, engine: Engine, context: RunContext | None = None):
        self.engine = engine
        self.context = context or RunContext()

    def append(self, events: Iterable[Evidence], conn: Connection | None = None) -> list[int]:
        """Append events in one transaction (or inside the caller's); returns their seq numbers."""
        events = list(events)
        if not events:
            return []
        if conn is not None:
            return self._append(conn, events)
        with transaction(self.engine) as own:
            return self._append(own, events)

    def _append(self, conn: Connection, events: list[Evidence]) -> list[int]:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_APPEND_LOCK})")
        head = conn.execute(
            sa.text("SELECT seq, row_hash, recorded_at FROM ks_evidence ORDER BY seq DESC LIMIT 1")
        ).first()
        seq, prev = (head[0], head[1]) if head else (0, GENESIS_HASH)
        # never before the row we chain onto: a worker whose clock lags another's must not make
        # time run backwards, so that `verify` can treat a backwards step as tampering
        now = max(datetime.now(UTC), as_utc(head[2])) if head else datetime.now(UTC)
        rows = []
        for item in events:
            seq += 1
            row = {
                "seq": seq,
                "recorded_at": now,
                "dag_id": self.context.dag_id,
                "run_id": self.context.run_id,
                "task_id": self.context.task_id,
                "try_number": self.context.try_number,
                "event": item.event,
                "source": item.source,
                "record_ref": item.record_ref,
                "subject_ref": item.subject_ref,
                "categories": ",".join(sorted(item.categories)),
                "rule": item.rule,
                "age_days": item.age_days,
                "outcome": item.outcome,
                "details": canonical_details(item.details),
                "prev_hash": prev,
            }
            row["row_hash"] = prev = row_hash(row)
            rows.append(row)
        conn.execute(sa.insert(_evidence), rows)
        for row in rows:
            log.info(log_line(row))
        return [row["seq"] for row in rows]

    def rows(self, where: str = "", params: Mapping[str, Any] | None = None) -> Iterator[dict]:
        """Evidence rows in chain order, streamed (never the whole table in memory)."""
        query = f"SELECT {', '.join((*COLUMNS, 'row_hash'))} FROM ks_evidence {where} ORDER BY seq"
        with connection(self.engine) as conn:
            result = conn.execution_options(stream_results=True, yield_per=2000).execute(
                sa.text(query), dict(params or {})
            )
            for row in result.mappings():
                yield dict(row)

    def verify(self) -> ChainReport:
        """Walk the chain from the genesis; name the first row that does not fit."""
        expected_seq, prev, count, last_time = 1, GENESIS_HASH, 0, None
        for row in self.rows():
            problem = None
            recorded = as_utc(row["recorded_at"])
            if row["seq"] != expected_seq:
                problem = f"expected row #{expected_seq} next, found #{row['seq']} (rows removed)"
            elif row["prev_hash"] != prev:
                problem = "its previous-hash does not match the row before (removed or reordered)"
            elif row_hash(row) != row["row_hash"]:
                problem = "its content does not match its hash (edited)"
            elif last_time is not None and recorded < last_time:
                problem = (
                    f"recorded_at {canonical_time(recorded)} is before the row before it "
                    f"({canonical_time(last_time)}): time runs backwards (rewritten)"
                )
            if problem:
                return ChainReport(False, count, expected_seq - 1, prev, row["seq"], problem)
            count += 1
            expected_seq += 1
            prev, last_time = row["row_hash"], recorded
        return ChainReport(True, count, expected_seq - 1 if count else None, prev)
