"""Retention as measured: the statement's table of terms, with the oldest value each source
still held at its last sweep, and every due value that was not removed (failed, still present,
waiting for a person, dry run) or was kept under legal hold."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from ks_privacy.audit import store
from ks_privacy.policy import RetentionPolicy

STALE_SCAN = timedelta(days=2)  # a source not swept for this long cannot be keeping its terms


@dataclass
class SourceRetention:
    source: str
    categories: tuple[str, ...]  # what the statement says this processor holds
    scanned_at: datetime | None = None
    run_id: str | None = None
    full_scan: bool | None = None
    present: dict[str, int] = field(default_factory=dict)
    oldest: dict[str, int] = field(default_factory=dict)  # oldest value kept, days at scan time
    measured: bool = False  # the sweep recorded `oldest.<category>`
    bound_days: int | None = None  # incremental scans only see records older than this
    overdue: dict[str, list[int]] = field(default_factory=dict)  # cat -> ages of due, not removed
    overdue_reasons: Counter = field(default_factory=Counter)
    held: dict[str, list[int]] = field(default_factory=dict)  # cat -> ages under legal hold
    held_records: int = 0
    undeclared: tuple[str, ...] = ()  # found in the source, not listed for it in the statement
    stale: bool = False


@dataclass
class CategoryRetention:
    category: str
    label: str
    term_days: int
    published: bool
    holders: tuple[str, ...]
    oldest_days: int | None
    oldest_text: str
    overdue: int
    overdue_oldest: int | None
    held: int
    verdict: str  # kept | BREACH | not measured | not swept | not held
    undeclared: tuple[str, ...] = ()  # sources holding it that the statement does not name

    @property
    def breach(self) -> bool:
        return self.verdict in ("BREACH", "not swept")


_REMOVED = {"erased", "redacted", "already_absent", "verified"}
_NOT_REMOVED = {
    "failed": "failed",
    "not_done": "failed",
    "still_present": "still present",
    "requested": "waiting for a person",
    "dry_run": "dry run",
}


def _run_state(rows: list[dict]) -> tuple[dict[str, list[int]], Counter, dict[str, list[int]]]:
    """From one sweep run's evidence for one source: which due values were not removed (by
    category, with their ages), why, and what legal hold kept."""
    last: dict[str, dict] = {}
    held: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        if row["event"] == "hold":
            for category in filter(None, row["categories"].split(",")):
                held[category].append(row["age_days"] or 0)
            continue
        if row["event"].endswith((".outcome", ".dry_run")) or row["event"] in (
            "verify",
            "manual.requested",
            "manual.confirmed",
        ):
            last[row["record_ref"]] = row
    overdue: dict[str, list[int]] = defaultdict(list)
    reasons: Counter = Counter()
    for row in last.values():
        if row["outcome"] in _REMOVED:
            continue
        reasons[_NOT_REMOVED.get(row["outcome"], row["outcome"])] += 1
        for category in filter(None, row["categories"].split(",")):
            overdue[category].append(row["age_days"] or 0)
    return dict(overdue), reasons, dict(held)


def retention(
    engine: Engine, policy: RetentionPolicy, end: datetime
) -> tuple[list[SourceRetention], list[CategoryRetention]]:
    scans = store.latest_scans(engine, end)
    sources = []
    for name in policy.enabled_sources():
        config = policy.sources[name]
        held_categories = tuple(policy.processors[config.processor].categories)
        item = SourceRetention(name, held_categories)
        shortest = min(policy.categories[c].term_days for c in held_categories)
        item.bound_days = shortest - policy.lead_time_days
        scan = scans.get(name)
        if scan is None:
            item.stale = True
            sources.append(item)
            continue
        details = scan["details"]
        item.scanned_at = scan["recorded_at"]
        item.run_id = scan["run_id"]
        item.full_scan = bool(details.get("full_scan"))
        item.stale = end - scan["recorded_at"] > STALE_SCAN
        for key, value in details.items():
            kind, _, category = key.partition(".")
            if kind == "present" and category:
                item.present[category] = int(value)
            elif kind == "oldest" and category:
                item.oldest[category] = int(value)
                item.measured = True
        run_rows = store.run_evidence(engine, scan["dag_id"], scan["run_id"], name)
        item.overdue, item.overdue_reasons, item.held = _run_state(run_rows)
        item.held_records = len({r["record_ref"] for r in run_rows if r["event"] == "hold"})
        seen = {c for c, n in item.present.items() if n} | set(item.held) | set(item.overdue)
        item.undeclared = tuple(sorted(seen - set(held_categories)))
        sources.append(item)

    categories = []
    for name, term in policy.categories.items():
        holders = tuple(s.source for s in sources if name in s.categories or name in s.undeclared)
        undeclared = tuple(s.source for s in sources if name in s.undeclared)
        oldest_values: list[int] = []
        bounds: list[int] = []
        measured_all = bool(holders)
        stale = []
        for item in sources:
            if item.source not in holders:
                continue
            if item.stale:
                stale.append(item.source)
            if not item.measured:
                measured_all = False
                continue
            if name in item.oldest:
                oldest_values.append(item.oldest[name])
            elif not item.full_scan:  # records the incremental scan skipped are younger
                bounds.append(item.bound_days or 0)
        overdue_ages = [a for s in sources for a in s.overdue.get(name, [])]
        held = sum(len(s.held.get(name, [])) for s in sources)
        oldest = max(oldest_values) if oldest_values else None
        if not holders:
            text = "not held by any swept source"
        elif oldest is not None and bounds and max(bounds) > oldest:
            text = f"{oldest} d (records the incremental scan skipped: under {max(bounds)} d)"
        elif oldest is not None:
            text = f"{oldest} d"
        elif measured_all and bounds:
            text = f"under {max(bounds)} d (older records are all seen by the scan)"
        elif measured_all:
            text = "none held"
        else:
            text = "not measured (the sweep did not record oldest ages)"
        if stale:
            verdict = "not swept"
            text += f"; no recent sweep of {', '.join(stale)}"
        elif overdue_ages or (oldest is not None and oldest >= term.term_days):
            verdict = "BREACH"
        elif not holders:
            verdict = "not held"
        elif measured_all:
            verdict = "kept"
        else:
            verdict = "not measured"
        categories.append(
            CategoryRetention(
                name,
                term.label,
                term.term_days,
                term.published,
                holders,
                oldest,
                text,
                len(overdue_ages),
                max(overdue_ages) if overdue_ages else None,
                held,
                verdict,
                undeclared,
            )
        )
    return sources, categories
