"""The readable end of a sweep: one table per run, per source and category, built from the plan
and the evidence (so it reports what happened, not what a task believed), and the problems that
must turn the run red."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ks_privacy.audit_db import connection
from ks_privacy.plans import MANUAL_STATE, VERIFIED
from ks_privacy.policy import RetentionPolicy

COLUMNS = ("scanned", "due", "erased", "redacted", "held", "absent", "failed", "verified")
_OUTCOME_COLUMN = {
    "erased": "erased",
    "redacted": "redacted",
    "held": "held",
    "already_absent": "absent",
    "failed": "failed",
    "still_present": "failed",
}


@dataclass
class SourceReport:
    name: str
    scan: dict | None = None
    rows: dict[str, Counter] = field(default_factory=dict)  # category -> column -> n
    records: Counter = field(default_factory=Counter)
    guard: str | None = None
    problems: list[str] = field(default_factory=list)


def _evidence(conn, dag_id: str, run_id: str, source: str, event: str) -> list[dict]:
    """Details of this run's events of a kind (with the outcome under `_outcome`)."""
    rows = conn.execute(
        sa.text(
            "SELECT details, outcome FROM ks_evidence WHERE dag_id = :d AND run_id = :r "
            "AND source = :s AND event = :e ORDER BY seq"
        ),
        {"d": dag_id, "r": run_id, "s": source, "e": event},
    )
    return [{**json.loads(details), "_outcome": outcome} for details, outcome in rows]


def build(
    engine: Engine, policy: RetentionPolicy, dag_id: str, run_id: str, sources: list[str]
) -> list[SourceReport]:
    reports = []
    with connection(engine) as conn:
        for name in sources:
            report = SourceReport(name)
            scans = _evidence(conn, dag_id, run_id, name, "scan.completed")
            report.scan = scans[-1] if scans else None
            if report.scan:
                report.scan.pop("_outcome")
            for trip in _evidence(conn, dag_id, run_id, name, "guard.tripped"):
                report.guard = "tripped" if trip["_outcome"] == "stopped" else "would trip"
            if _evidence(conn, dag_id, run_id, name, "guard.overridden"):
                report.guard = "overridden"
            plan = conn.execute(
                sa.text(
                    "SELECT categories, state, outcome FROM ks_plan WHERE dag_id = :d "
                    "AND run_id = :r AND source = :s"
                ),
                {"d": dag_id, "r": run_id, "s": name},
            )
            for categories, state, outcome in plan:
                columns = ["due"]
                if outcome in _OUTCOME_COLUMN:
                    columns.append(_OUTCOME_COLUMN[outcome])
                if state == VERIFIED:
                    columns.append("verified")
                for column in columns:
                    report.records[column] += 1
                for category in (categories or "").split(","):
                    if category:
                        cell = report.rows.setdefault(category, Counter())
                        for column in columns:
                            cell[column] += 1
                if state == MANUAL_STATE:
                    report.records["manual_pending"] += 1
            _find_problems(report)
            reports.append(report)
    return reports


def _find_problems(report: SourceReport) -> None:
    if report.scan is None:
        report.problems.append("no completed scan")
        return
    if report.guard == "tripped" and report.records["erased"] + report.records["redacted"] == 0:
        report.problems.append("guard tripped: nothing deleted, a human must review the plan")
    if report.records["failed"]:
        report.problems.append(f"{report.records['failed']} actions failed or were not verified")
    acted = report.records["erased"] + report.records["redacted"] + report.records["absent"]
    if acted > report.records["verified"] + report.records["failed"]:
        report.problems.append(f"{acted - report.records['verified']} actions not verified")
    if report.records["manual_pending"]:
        report.problems.append(
            f"{report.records['manual_pending']} records wait for a manual deletion"
        )
    if report.scan.get("missed_by_incremental"):
        report.problems.append(
            f"full scan found {report.scan['missed_by_incremental']} due records the incremental "
            "scan would have missed (a bug: see scan.missed_by_incremental evidence)"
        )


def render(reports: list[SourceReport], policy: RetentionPolicy, dry_run: bool) -> list[str]:
    width = 11
    header = f"{'source':<18}{'category':<18}" + "".join(f"{c:>{width}}" for c in COLUMNS)
    lines = [
        f"Retention sweep report{' (DRY RUN: nothing deleted)' if dry_run else ''}",
        header,
        "-" * len(header),
    ]
    for report in reports:
        scan = report.scan or {}
        categories = sorted(
            {k.split(".", 1)[1] for k in scan if k.startswith("present.")} | set(report.rows)
        )
        for category in categories:
            cell = report.rows.get(category, Counter())
            values = {"scanned": scan.get(f"present.{category}", 0), **cell}
            lines.append(
                f"{report.name:<18}{category:<18}"
                + "".join(f"{values.get(c, 0):>{width}}" for c in COLUMNS)
            )
        totals = {"scanned": scan.get("scanned", 0), **report.records}
        lines.append(
            f"{report.name:<18}{'(records)':<18}"
            + "".join(f"{totals.get(c, 0):>{width}}" for c in COLUMNS)
        )
        notes = [f"scan {'full' if scan.get('full_scan') else 'incremental'}"] if scan else []
        if scan:
            notes.append(f"account total {scan.get('total', '?')}")
        if scan.get("no_clock"):
            notes.append(f"{scan['no_clock']} without a timestamp (kept, flagged)")
        if report.guard:
            notes.append(f"guard {report.guard}")
        lines.append(f"{'':<18}{'; '.join(notes)}")
    for name in policy.unpublished_categories():
        lines.append(f"policy gap: {name} has no published term; {policy.categories[name].choice}")
    return lines
