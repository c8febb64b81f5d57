"""The auditor report's verdicts, apart from how they are shown: the checks, the period's
evidence, retention as measured and the requests, gathered into one `AuditReport` (rendered by
ks_privacy.audit.report, summarised as JSON by `AuditReport.summary`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import IO, Any

from sqlalchemy.engine import Engine

from ks_privacy.anchors import Anchor
from ks_privacy.audit import checks, store
from ks_privacy.audit.findings import Finding
from ks_privacy.audit.period import ACTIONS, PeriodEvidence, collect_period
from ks_privacy.audit.retention_view import CategoryRetention, SourceRetention, retention
from ks_privacy.policy import RetentionPolicy


@dataclass
class AuditReport:
    start: datetime
    end: datetime
    generated_at: datetime
    statement_version: str
    mode: str
    deadline_days: int
    status: checks.AuditStatus
    period: PeriodEvidence
    sources: list[SourceRetention]
    categories: list[CategoryRetention]
    requests: list[checks.RequestStatus]
    head: tuple[int, str] | None
    csv_name: str = "evidence.csv"
    csv_sha256: str = ""

    @property
    def days(self) -> list[date]:
        first, last = self.start.date(), (self.end - timedelta(microseconds=1)).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    @property
    def retention_findings(self) -> list[Finding]:
        out = []
        for c in self.categories:
            if c.verdict == "BREACH":
                detail = (
                    f"{c.overdue} due value(s) still held, oldest {c.overdue_oldest} d"
                    if c.overdue
                    else f"oldest value held {c.oldest_days} d"
                )
                out.append(
                    Finding("retention", f"{c.category}: past its {c.term_days}-day term: {detail}")
                )
            elif c.verdict == "not swept":
                out.append(Finding("retention", f"{c.category}: {c.oldest_text}"))
            elif c.verdict == "not measured":
                out.append(Finding("retention", f"{c.category}: {c.oldest_text}", False))
            if c.undeclared:
                out.append(
                    Finding(
                        "retention",
                        f"{c.category} is held in {', '.join(c.undeclared)}, which the statement "
                        "does not list as holding it (a gap in the statement's processor table)",
                        False,
                    )
                )
        return out

    @property
    def problems(self) -> list[Finding]:
        return self.status.problems + [f for f in self.retention_findings if f.problem]

    @property
    def flags(self) -> list[Finding]:
        return self.status.flags + [f for f in self.retention_findings if not f.problem]

    @property
    def ok(self) -> bool:
        return not self.problems

    def totals(self) -> dict[str, dict[str, int]]:
        return {
            source: {a: counts.get(a, 0) for a in ACTIONS}
            for source, counts in sorted(self.period.totals.items())
        }

    def summary(self) -> dict[str, Any]:
        """The report's numbers as data (written next to the HTML as .json)."""
        chain = self.status.chain
        newest = chain.newest_anchor
        return {
            "period": {"start": self.start.isoformat(), "end": self.end.isoformat()},
            "generated_at": self.generated_at.isoformat(),
            "statement_version": self.statement_version,
            "ok": self.ok,
            "problems": [f.text for f in self.problems],
            "flags": [f.text for f in self.flags],
            "chain": {
                "intact": chain.ok,
                "walk": asdict(chain.report),
                "anchors_checked": len(chain.anchors),
                "newest_anchor": (
                    {"name": newest.name, "seq": newest.seq, "row_hash": newest.row_hash}
                    if newest
                    else None
                ),
                "mirrored_rows": chain.mirrored_rows,
            },
            "period_rows": {
                "count": self.period.rows,
                "first": list(self.period.first) if self.period.first else None,
                "last": list(self.period.last) if self.period.last else None,
            },
            "evidence_csv": {"name": self.csv_name, "sha256": self.csv_sha256},
            "totals": self.totals(),
            "daily": {
                source: {
                    day.isoformat(): {a: c.get(a, 0) for a in ACTIONS}
                    for day, c in sorted(per_day.items())
                }
                for source, per_day in sorted(self.period.daily.items())
            },
            "events": dict(sorted(self.period.events.items())),
            "verification": {
                "removals": self.status.verification.removals,
                "verified": self.status.verification.verified,
                "still_present": len(self.status.verification.still_present),
                "missing": len(self.status.verification.missing),
                "awaiting": len(self.status.verification.awaiting),
            },
            "retention": [
                {
                    "category": c.category,
                    "term_days": c.term_days,
                    "published": c.published,
                    "oldest_days": c.oldest_days,
                    "measured": c.oldest_text,
                    "overdue": c.overdue,
                    "held": c.held,
                    "verdict": c.verdict,
                }
                for c in self.categories
            ],
            "requests": [
                {
                    "request_ref": r.request_ref,
                    "kind": r.kind,
                    "received_on": r.received_on.isoformat(),
                    "due_on": r.due_on.isoformat(),
                    "closed_on": r.closed_on.isoformat() if r.closed_on else None,
                    "days": r.days_open,
                    "verdict": r.verdict,
                }
                for r in self.requests
            ],
        }


def build(
    engine: Engine,
    policy: RetentionPolicy,
    start: datetime,
    end: datetime,
    now: datetime,
    csv_out: IO[str],
    grace: timedelta = checks.VERIFY_GRACE,
    anchors: Sequence[Anchor] = (),
) -> AuditReport:
    status = checks.check_all(engine, now, policy.request_deadline_days, grace, anchors)
    period = collect_period(engine, start, end, csv_out)
    sources, categories = retention(engine, policy, end)
    requests = [
        r
        for r in status.requests.rows
        if r.received_on < end.date() + timedelta(days=1)
        and (r.closed_on is None or r.closed_on >= start.date())
    ]
    return AuditReport(
        start=start,
        end=end,
        generated_at=now,
        statement_version=policy.statement_version,
        mode=policy.mode,
        deadline_days=policy.request_deadline_days,
        status=status,
        period=period,
        sources=sources,
        categories=categories,
        requests=requests,
        head=store.head(engine),
    )
