"""Reading the audit database (read only): evidence rows with filters, the chain head, the
requests register. Every row holds refs, pseudonyms, kinds and counts; never a personal value."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ks_privacy.evidence import COLUMNS
from ks_privacy.timeutil import as_utc

ALL_COLUMNS = (*COLUMNS, "row_hash")
REPORT_BASE_VARIABLE = "ks_audit_report_base"

# Events whose outcome removed a value, and the read-back that proves it.
REMOVAL_EVENTS = ("erase.outcome", "redact.outcome", "manual.confirmed")
REMOVED_OUTCOMES = ("erased", "redacted")
VERIFY_EVENT = "verify"


@dataclass(frozen=True)
class EvidenceFilter:
    """What the auditor page and the CLI filter evidence by. Empty fields do not filter."""

    start: datetime | None = None  # recorded_at >= start
    end: datetime | None = None  # recorded_at < end
    source: str | None = None
    event: str | None = None
    outcome: str | None = None
    subject_ref: str | None = None
    record_ref: str | None = None
    dag_id: str | None = None
    run_id: str | None = None
    before_seq: int | None = None  # paging: rows older than this one

    def where(self) -> tuple[str, dict[str, Any]]:
        clauses, params = [], {}
        for column in ("source", "event", "outcome", "subject_ref", "record_ref", "dag_id"):
            value = getattr(self, column)
            if value:
                clauses.append(f"{column} = :{column}")
                params[column] = value
        if self.run_id:
            clauses.append("run_id = :run_id")
            params["run_id"] = self.run_id
        if self.start is not None:
            clauses.append("recorded_at >= :start")
            params["start"] = self.start
        if self.end is not None:
            clauses.append("recorded_at < :end")
            params["end"] = self.end
        if self.before_seq is not None:
            clauses.append("seq < :before_seq")
            params["before_seq"] = self.before_seq
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", params

    def as_query(self) -> dict[str, str]:
        """The non-empty filters as URL query parameters (dates as YYYY-MM-DD)."""
        out = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value is None or value == "":
                continue
            if item.name == "start":
                value = value.date().isoformat()
            elif item.name == "end":
                value = (value - timedelta(days=1)).date().isoformat()
            out[item.name] = str(value)
        return out


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def has_trail(engine: Engine) -> bool:
    return sa.inspect(engine).has_table("ks_evidence")


def head(engine: Engine) -> tuple[int, str] | None:
    with engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT seq, row_hash FROM ks_evidence ORDER BY seq DESC LIMIT 1")
        ).first()
    return (int(row[0]), row[1]) if row else None


def normalise(row: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out["recorded_at"] = as_utc(out["recorded_at"])
    return out


def iter_evidence(engine: Engine, flt: EvidenceFilter = EvidenceFilter()) -> Iterator[dict]:
    """Rows in chain order, streamed (memory does not grow with the table)."""
    where, params = flt.where()
    query = sa.text(f"SELECT {', '.join(ALL_COLUMNS)} FROM ks_evidence {where} ORDER BY seq")
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=2000).execute(query, params)
        for row in result.mappings():
            yield normalise(row)


def page(engine: Engine, flt: EvidenceFilter, limit: int = 100) -> list[dict]:
    """The newest `limit` rows that match, newest first (for the evidence table)."""
    where, params = flt.where()
    query = sa.text(
        f"SELECT {', '.join(ALL_COLUMNS)} FROM ks_evidence {where} ORDER BY seq DESC LIMIT :lim"
    )
    with engine.connect() as conn:
        rows = conn.execute(query, {**params, "lim": limit}).mappings().all()
    return [normalise(r) for r in rows]


def count(engine: Engine, flt: EvidenceFilter) -> int:
    where, params = flt.where()
    with engine.connect() as conn:
        return int(
            conn.execute(sa.text(f"SELECT COUNT(*) FROM ks_evidence {where}"), params).scalar()
        )


def distinct(engine: Engine, column: str) -> list[str]:
    if column not in ("source", "event", "outcome", "dag_id"):
        raise ValueError(column)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                f"SELECT DISTINCT {column} FROM ks_evidence WHERE {column} IS NOT NULL "
                f"ORDER BY {column}"
            )
        )
        return [r[0] for r in rows]


def latest_scans(engine: Engine, end: datetime | None = None) -> dict[str, dict]:
    """Per source, the last `scan.completed` before `end`: its details, time and run."""
    params: dict[str, Any] = {}
    where = ""
    if end is not None:
        where, params = "AND recorded_at < :end", {"end": end}
    query = sa.text(
        "SELECT e.seq, e.source, e.dag_id, e.run_id, e.recorded_at, e.details FROM ks_evidence e "
        "JOIN (SELECT source, MAX(seq) AS seq FROM ks_evidence WHERE event = 'scan.completed' "
        f"{where} GROUP BY source) last ON last.seq = e.seq"
    )
    with engine.connect() as conn:
        rows = conn.execute(query, params).mappings().all()
    return {
        r["source"]: {
            "seq": int(r["seq"]),
            "dag_id": r["dag_id"],
            "run_id": r["run_id"],
            "recorded_at": as_utc(r["recorded_at"]),
            "details": json.loads(r["details"]),
        }
        for r in rows
    }


def run_evidence(engine: Engine, dag_id: str, run_id: str, source: str) -> list[dict]:
    flt = EvidenceFilter(dag_id=dag_id, run_id=run_id, source=source)
    return list(iter_evidence(engine, flt))


def requests_register(engine: Engine, subject_ref: str | None = None) -> list[dict]:
    """The register `ks_requests` (pseudonyms only), oldest deadline first; [] if absent."""
    if not sa.inspect(engine).has_table("ks_requests"):
        return []
    where = "WHERE subject_ref = :subject " if subject_ref else ""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT request_ref, kind, reason, subject_ref, received_on, due_on, status, "
                "identity_verified_by, approved_by, dag_id, run_id, registered_at, closed_at "
                f"FROM ks_requests {where}ORDER BY due_on, request_ref"
            ),
            {"subject": subject_ref},
        ).mappings()
        out = []
        for r in rows:
            row = dict(r)
            for key in ("received_on", "due_on"):
                value = row[key]
                row[key] = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
            row["registered_at"] = as_utc(row["registered_at"])
            row["closed_at"] = as_utc(row["closed_at"])
            out.append(row)
        return out


def requests_holding_an_address(engine: Engine) -> set[str]:
    """References whose data key is still in the vault (their address can still be read)."""
    if not sa.inspect(engine).has_table("ks_request_keys"):
        return set()
    with engine.connect() as conn:
        return set(conn.execute(sa.text("SELECT request_ref FROM ks_request_keys")).scalars())


def request_status_events(engine: Engine) -> dict[str, list[dict]]:
    """Per request reference, its `request.*` evidence (event, outcome, subject, seq, time,
    details as a dict)."""
    query = sa.text(
        "SELECT seq, event, outcome, record_ref, subject_ref, recorded_at, details FROM "
        "ks_evidence WHERE event LIKE 'request.%' ORDER BY seq"
    )
    out: dict[str, list[dict]] = {}
    with engine.connect() as conn:
        for r in conn.execute(query).mappings():
            if r["record_ref"]:
                row = normalise(r)
                row["details"] = json.loads(row["details"] or "{}")
                out.setdefault(r["record_ref"], []).append(row)
    return out


def report_base_url() -> str:
    """Where reports go: Airflow variable `ks_audit_report_base` (a local folder or a bucket URL
    such as `s3://aws_default@bucket/ks-audit/`), else `$AIRFLOW_HOME/ks-audit-reports/`."""
    from ks_privacy.settings import storage_base_url

    return storage_base_url(REPORT_BASE_VARIABLE, "ks-audit-reports")


def report_base():
    from airflow.sdk import ObjectStoragePath

    return ObjectStoragePath(report_base_url())
