"""What every step of one source's sweep shares: the step's context, batch sizes, and the
errors a step stops with."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ks_privacy.audit_db import connection
from ks_privacy.evidence import AuditTrail, Evidence
from ks_privacy.ledger import ClockLedger
from ks_privacy.plans import Plan, PlanRow
from ks_privacy.policy import RetentionPolicy
from ks_privacy.pseudonym import Pseudonymiser
from ks_privacy.sources.base import Source

SCAN_CHUNK = 500
REDACT_BATCH = 50
VERIFY_BATCH = 200


class GuardTripped(RuntimeError):
    """The plan is implausibly large: nothing was deleted; a human must look and override."""


class VerificationFailed(RuntimeError):
    """Records we acted on are still there."""


class BlockedByOtherRun(RuntimeError):
    """Another run is acting on the same records right now; retry later."""


def chunks(items, size: int) -> Iterator[list]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


@dataclass
class SweepStep:
    """What every step of one source's sweep needs, built once per task."""

    policy: RetentionPolicy
    source_name: str
    source: Source
    engine: Engine
    trail: AuditTrail
    pseudonymise: Pseudonymiser
    now: datetime
    dry_run: bool

    @property
    def plan(self) -> Plan:
        ctx = self.trail.context
        return Plan(self.engine, ctx.dag_id, ctx.run_id, self.source_name)

    @property
    def ledger(self) -> ClockLedger:
        return ClockLedger(self.engine, self.source_name)

    @property
    def config(self):
        return self.policy.sources[self.source_name]

    def evidence(self, event: str, outcome: str, row: PlanRow | None = None, **details) -> Evidence:
        return Evidence(
            event=event,
            outcome=outcome,
            source=self.source_name,
            record_ref=row.record_ref if row else None,
            subject_ref=row.subject_ref if row else None,
            categories=row.categories if row else (),
            rule=row.rule if row else None,
            age_days=row.age_days if row else None,
            details={k: v for k, v in details.items() if v is not None},
        )

    def incremental_cutoff(self) -> datetime:
        """Records whose vendor clock is later than this cannot be due today."""
        processor = self.policy.processors[self.config.processor]
        shortest = min(self.policy.categories[c].term_days for c in processor.categories)
        return self.now + timedelta(days=self.policy.lead_time_days) - timedelta(days=shortest)

    def scan_summary(self, run_id: str | None = None) -> dict | None:
        """The `scan.completed` details of this run (or of the latest other run, for the guard)."""
        ctx = self.trail.context
        if run_id is None:
            where, params = "AND run_id = :run_id", {"run_id": ctx.run_id}
        else:
            where, params = "AND run_id <> :run_id", {"run_id": run_id}
        with connection(self.engine) as conn:
            row = conn.execute(
                sa.text(
                    "SELECT details FROM ks_evidence WHERE event = 'scan.completed' "
                    f"AND dag_id = :dag_id AND source = :source {where} ORDER BY seq DESC LIMIT 1"
                ),
                {"dag_id": ctx.dag_id, "source": self.source_name, **params},
            ).first()
        return None if row is None else json.loads(row[0])
