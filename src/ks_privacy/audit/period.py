"""The evidence of a report's period, in one pass: the CSV of every row (a contiguous piece of
the chain, so it can be re-verified offline) and the counts the report shows per day, source and
action."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ks_privacy.audit import store
from ks_privacy.evidence import canonical_time

ACTIONS = ("erased", "redacted", "held", "failed")


def classify(event: str, outcome: str) -> str | None:
    """Which report column an evidence row counts in (None: not a per-record action)."""
    if outcome in ("failed", "still_present"):
        return "failed"
    if event in ("erase.outcome", "manual.confirmed") and outcome == "erased":
        return "erased"
    if event == "redact.outcome" and outcome == "redacted":
        return "redacted"
    if event == "hold":
        return "held"
    return None


@dataclass
class PeriodEvidence:
    rows: int = 0
    daily: dict[str, dict[date, Counter]] = field(default_factory=dict)  # source -> day -> n
    totals: dict[str, Counter] = field(default_factory=dict)  # source -> action -> n
    events: Counter = field(default_factory=Counter)  # "event outcome" -> n
    first: tuple[int, str] | None = None  # (seq, prev_hash) of the period's first row
    last: tuple[int, str] | None = None  # (seq, row_hash) of its last row


def seq_range(engine: Engine, start: datetime, end: datetime) -> tuple[int, int] | None:
    """The rows recorded in [start, end), as a contiguous seq range (a CSV of a period must be
    a whole piece of the chain, even if a clock step put one row's time out of order)."""
    with engine.connect() as conn:
        low, high = conn.execute(
            sa.text(
                "SELECT MIN(seq), MAX(seq) FROM ks_evidence WHERE recorded_at >= :s "
                "AND recorded_at < :e"
            ),
            {"s": start, "e": end},
        ).one()
    return (int(low), int(high)) if low is not None else None


def csv_value(column: str, value: Any) -> str:
    if value is None:
        return ""
    if column == "recorded_at":
        return canonical_time(value)
    return str(value)


def collect_period(
    engine: Engine, start: datetime, end: datetime, csv_out: IO[str]
) -> PeriodEvidence:
    """One pass over the period: write the CSV and count what the report shows."""
    result = PeriodEvidence()
    writer = csv.writer(csv_out)
    writer.writerow(store.ALL_COLUMNS)
    bounds = seq_range(engine, start, end)
    if bounds is None:
        return result
    query = sa.text(
        f"SELECT {', '.join(store.ALL_COLUMNS)} FROM ks_evidence WHERE seq BETWEEN :lo AND :hi "
        "ORDER BY seq"
    )
    with engine.connect() as conn:
        rows = conn.execution_options(stream_results=True, yield_per=2000).execute(
            query, {"lo": bounds[0], "hi": bounds[1]}
        )
        for mapping in rows.mappings():
            row = store.normalise(mapping)
            writer.writerow([csv_value(c, row[c]) for c in store.ALL_COLUMNS])
            result.rows += 1
            if result.first is None:
                result.first = (row["seq"], row["prev_hash"])
            result.last = (row["seq"], row["row_hash"])
            result.events[f"{row['event']} {row['outcome']}"] += 1
            action = classify(row["event"], row["outcome"])
            if action is None:
                continue
            source = row["source"] or "(none)"
            day = row["recorded_at"].date()
            result.daily.setdefault(source, {}).setdefault(day, Counter())[action] += 1
            result.totals.setdefault(source, Counter())[action] += 1
    return result
