"""Apply: carry out the run's plan with write-ahead evidence, an intent row before every vendor
call that changes data and its outcome after; and the manual path for sources without a delete
API (a worklist a person confirms).

Safe to retry: intents left open by a process that died are read back from the vendor first,
and rows already done are skipped.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

from ks_privacy.audit_db import transaction
from ks_privacy.plans import DONE, INTENT, MANUAL_STATE, PLANNED, Plan, PlanRow
from ks_privacy.sources.base import ActionResult, BatchRedaction, Outcome
from ks_privacy.sweep.outcomes import OutcomeWriter
from ks_privacy.sweep.step import REDACT_BATCH, VERIFY_BATCH, BlockedByOtherRun, SweepStep

log = logging.getLogger("ks_privacy.sweep")

CLAIM_RETRIES = 3


def apply(step: SweepStep) -> dict:
    """Carry out the plan: held rows recorded, due rows erased or redacted, with evidence."""
    plan = step.plan
    _resolve_open_intents(step, plan)
    _record_held(step, plan)
    if step.dry_run:
        _record_dry_run(step, plan)
    elif step.source.manual_erasure:
        _request_manual(step, plan)
    else:
        _act(step, plan, "erase", step.source.erase_batch_size)
        batched = isinstance(step.source, BatchRedaction)
        _act(step, plan, "redact", step.source.redact_batch_size if batched else REDACT_BATCH)
    return summarise(plan)


def summarise(plan: Plan) -> dict:
    counts: Counter = Counter()
    for (action, state, outcome), n in plan.counts().items():
        counts[f"{action}.{outcome or state}"] += n
    return dict(sorted(counts.items()))


def _resolve_open_intents(step: SweepStep, plan: Plan) -> None:
    """A process died between an intent and its outcome: read each ref back, record the truth."""
    for batch in plan.batches([INTENT], ["erase", "redact"], VERIFY_BATCH):
        present = step.source.present([r.record_ref for r in batch])
        done, again, evidence = [], [], []
        for row in batch:
            left = present.get(row.record_ref)
            gone = (
                left is None if row.action == "erase" else not set(row.categories) & set(left or ())
            )
            if gone:
                outcome = Outcome.ERASED if row.action == "erase" else Outcome.REDACTED
                done.append((row, outcome))
                evidence.append(
                    step.evidence(f"{row.action}.outcome", outcome, row, recovered=True)
                )
            else:
                again.append(row.record_ref)
                evidence.append(
                    step.evidence(f"{row.action}.outcome", "not_done", row, recovered=True)
                )
        with transaction(step.engine) as conn:
            step.trail.append(evidence, conn)
            for outcome in (Outcome.ERASED, Outcome.REDACTED):
                plan.mark(conn, [r.record_ref for r, o in done if o == outcome], DONE, outcome)
            for row, outcome in done:
                if outcome == Outcome.REDACTED and row.last_activity:
                    step.ledger.record_write(
                        conn, row.record_ref, row.last_activity, datetime.now(UTC)
                    )
            plan.mark(conn, again, PLANNED)
            plan.release(conn, [r.record_ref for r, _ in done])
        if again:
            log.info("%d in-flight actions were not done; acting on them again", len(again))


def _record_held(step: SweepStep, plan: Plan) -> None:
    for batch in plan.batches([PLANNED], ["hold"], 1000):
        with transaction(step.engine) as conn:
            step.trail.append([step.evidence("hold", Outcome.HELD, r) for r in batch], conn)
            plan.mark(conn, [r.record_ref for r in batch], DONE, Outcome.HELD)


def _record_dry_run(step: SweepStep, plan: Plan) -> None:
    for batch in plan.batches([PLANNED], ["erase", "redact"], 1000):
        with transaction(step.engine) as conn:
            step.trail.append(
                [step.evidence(f"{r.action}.dry_run", "dry_run", r) for r in batch], conn
            )
            plan.mark(conn, [r.record_ref for r in batch], DONE, "dry_run")


# ---- no delete API: a person deletes, and confirms ---------------------------------------------


def _request_manual(step: SweepStep, plan: Plan) -> None:
    """No delete API: the due records become a worklist for a person (kept on the run's plan)."""
    for batch in plan.batches([PLANNED], ["erase", "redact"], 1000):
        with transaction(step.engine) as conn:
            step.trail.append(
                [step.evidence("manual.requested", "requested", r) for r in batch], conn
            )
            plan.mark(conn, [r.record_ref for r in batch], MANUAL_STATE)


def worklist(plan: Plan) -> list[str]:
    return [r.record_ref for r in plan.rows([MANUAL_STATE], ["erase", "redact"], 100_000)]


def confirm_manual(step: SweepStep, confirmed_by: str, refs: Sequence[str]) -> int:
    """A person confirmed they deleted the worklist in the vendor's UI: that is the evidence."""
    wanted = set(refs)
    rows = [
        r
        for r in step.plan.rows([MANUAL_STATE], ["erase", "redact"], 100_000)
        if r.record_ref in wanted
    ]
    with transaction(step.engine) as conn:
        step.trail.append(
            [
                step.evidence("manual.confirmed", Outcome.ERASED, r, confirmed_by=confirmed_by)
                for r in rows
            ],
            conn,
        )
        step.plan.mark(conn, [r.record_ref for r in rows], DONE, Outcome.ERASED)
    return len(rows)


# ---- vendor calls ------------------------------------------------------------------------------


def _act(step: SweepStep, plan: Plan, action: str, batch_size: int) -> None:
    blocked: set[str] = set()
    for attempt in range(CLAIM_RETRIES + 1):
        with OutcomeWriter(step, plan, action) as writer:
            for batch in plan.batches([PLANNED], [action], batch_size):
                batch = [r for r in batch if r.record_ref not in blocked]
                if not batch:
                    break
                blocked |= _act_on_batch(step, plan, action, batch, writer)
        if not blocked:
            return
        if attempt < CLAIM_RETRIES:
            time.sleep(5 * (attempt + 1))
            blocked = set()
    raise BlockedByOtherRun(
        f"{len(blocked)} {step.source_name} records are being acted on by another run; "
        "they are left for this task's retry"
    )


def _act_on_batch(
    step: SweepStep, plan: Plan, action: str, batch: list[PlanRow], writer: OutcomeWriter
) -> set[str]:
    """Claim, write intents, call the vendor, hand the outcomes to the writer. Returns refs
    claimed elsewhere."""
    by_ref = {r.record_ref: r for r in batch}
    try:
        with transaction(step.engine) as conn:
            mine = plan.claim(conn, list(by_ref))
            rows = [by_ref[ref] for ref in by_ref if ref in mine]
            step.trail.append([step.evidence(f"{action}.intent", "intent", r) for r in rows], conn)
            plan.mark(conn, [r.record_ref for r in rows], INTENT)
        writer.hand_over()  # the previous batch's outcomes, written while these calls go out
    except BaseException:
        writer.record_now(by_ref, [])
        raise
    results: list[ActionResult] = []
    try:
        if action == "erase":
            results = step.source.erase([r.record_ref for r in rows])
        elif isinstance(step.source, BatchRedaction):
            items = [(r.record_ref, r.categories) for r in rows]
            for result in step.source.redact_many(items):  # a fault keeps those done
                results.append(result)
        else:
            for row in rows:
                results.append(step.source.redact(row.record_ref, row.categories))
    except BaseException:
        writer.record_now(by_ref, results)
        raise
    writer.done(by_ref, results)
    return set(by_ref) - mine
