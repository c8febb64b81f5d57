"""The retention sweep for one source: scan -> guard -> apply -> verify. Task bodies, not DAG code.

Every step reads and writes the plan in the audit database, so each is safe to retry: scan adds
nothing twice, apply skips what is done and reads back what was in flight, verify re-reads.
Write-ahead evidence: an intent row before every vendor call that changes data, its outcome after.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ks_privacy.audit_db import connection, transaction
from ks_privacy.evidence import AuditTrail, Evidence
from ks_privacy.holds import LegalHolds
from ks_privacy.ledger import ClockLedger
from ks_privacy.plans import DONE, INTENT, MANUAL_STATE, PLANNED, VERIFIED, Plan, PlanRow
from ks_privacy.policy import Action, Facts, RetentionPolicy, decide, last_activity
from ks_privacy.pseudonym import Pseudonymiser
from ks_privacy.sources.base import (
    ActionResult,
    BatchRedaction,
    Outcome,
    ScanWindow,
    Source,
    SourceRecord,
)

log = logging.getLogger("ks_privacy.sweep")

SCAN_CHUNK = 500
REDACT_BATCH = 50
VERIFY_BATCH = 200
ZERO_RECORDS_ALARM = 10  # a source that had at least this many yesterday and none today trips
CLAIM_RETRIES = 3


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
        if row is None:
            return None
        import json

        return json.loads(row[0])


# ---- scan -------------------------------------------------------------------------------------


def scan(step: SweepStep, full_scan: bool) -> dict:
    """Stream the source, decide each record, store the plan. Returns counts (for XCom)."""
    done = step.scan_summary()
    if done is not None:
        log.info("plan for %s already made in this run; not scanning again", step.source_name)
        return done
    cutoff = step.incremental_cutoff()
    ledger = step.ledger
    ledger_refs = ledger.refs_due_by(cutoff)
    window = ScanWindow(None if full_scan else cutoff, ledger_refs)
    counts: Counter = Counter()
    plan = step.plan
    missed: list[Evidence] = []
    superseded: list[str] = []  # ledger entries the person's own activity made meaningless
    unseen = set(ledger_refs)  # ledger refs the scan has not returned (yet)
    held_people = LegalHolds(step.trail).active()  # the register: holds in every source
    for chunk in chunks(step.source.scan(window), SCAN_CHUNK):
        rows = _decide_chunk(
            step, chunk, ledger, counts, cutoff, ledger_refs, missed, superseded, held_people
        )
        unseen.difference_update(r.ref for r in chunk)
        with transaction(step.engine) as conn:
            plan.add(conn, rows)
            step.trail.append(missed, conn)
            ledger.forget(conn, superseded)
        missed.clear()
        superseded.clear()
    _forget_vanished(step, ledger, sorted(unseen))
    summary = {
        "full_scan": full_scan,
        "total": step.source.total(),
        **{k: counts[k] for k in sorted(counts)},
    }
    step.trail.append([step.evidence("scan.completed", "ok", **summary)])
    return summary


def _decide_chunk(
    step,
    chunk: Sequence[SourceRecord],
    ledger,
    counts,
    cutoff,
    ledger_refs,
    missed,
    superseded: list[str],
    held_people: frozenset[str],
):
    entries = ledger.lookup([r.ref for r in chunk])
    rows = []
    for record in chunk:
        computed = last_activity(record.timestamps, step.config.clock)
        entry = entries.get(record.ref)
        activity = ClockLedger.effective_activity(computed, record.vendor_stamp, entry)
        if entry is not None and _restarted(record, entry):
            # the ledger no longer changes this record's decision (the vendor clock moved after
            # our write), and an entry kept would make a later redaction keep the old activity
            superseded.append(record.ref)
        decision = decide(step.policy, Facts(record.categories, activity, record.held), step.now)
        subject_ref = None
        if decision.action in (Action.ERASE, Action.REDACT, Action.HOLD):
            subject_ref = step.pseudonymise(record.email)  # only for what is due: a hot loop
            if decision.action != Action.HOLD and subject_ref in held_people:
                facts = Facts(record.categories, activity, held=True)  # the register's hold
                decision = decide(step.policy, facts, step.now)
        counts["scanned"] += 1
        counts[decision.action.value] += 1
        for category in record.categories:
            counts[f"present.{category}"] += 1
        for category in decision.categories:
            counts[f"{decision.action.value}.{category}"] += 1
        if decision.age_days is not None:
            # oldest value this run keeps per category (the auditor report's measured column):
            # what it removes is not kept; due values under legal hold show as `hold` evidence
            for category in record.categories - set(decision.categories):
                key = f"oldest.{category}"
                counts[key] = max(counts[key], decision.age_days)
        if decision.action not in (Action.ERASE, Action.REDACT, Action.HOLD):
            continue
        row = PlanRow(
            record_ref=record.ref,
            subject_ref=subject_ref,
            action=decision.action.value,
            categories=decision.categories,
            rule=decision.rule,
            age_days=decision.age_days,
            last_activity=activity,
        )
        rows.append(row)
        incremental_sees_it = (
            record.vendor_stamp is None
            or record.vendor_stamp <= cutoff
            or record.ref in ledger_refs
        )
        if decision.action != Action.HOLD and not incremental_sees_it:
            counts["missed_by_incremental"] += 1
            missed.append(step.evidence("scan.missed_by_incremental", "bug", row))
    return rows


def _restarted(record: SourceRecord, entry: tuple[datetime, datetime]) -> bool:
    """The vendor clock moved after our write: the person did something, the clock restarted
    (exactly when `ClockLedger.effective_activity` ignores the entry)."""
    return record.vendor_stamp is not None and record.vendor_stamp > entry[1]


def _forget_vanished(step: SweepStep, ledger: ClockLedger, refs: Sequence[str]) -> None:
    """Ledger entries whose record the scan did not return (deleted outside the sweep) would be
    read again every day, for ever: forget those the vendor confirms are gone."""
    gone = []
    for batch in chunks(refs, VERIFY_BATCH):
        present = step.source.present(batch)
        gone += [ref for ref in batch if present.get(ref) is None]
    if gone:
        with transaction(step.engine) as conn:
            ledger.forget(conn, gone)
        log.info("%d clock-ledger entries of %s forgotten: gone", len(gone), step.source_name)


# ---- guard ------------------------------------------------------------------------------------


def guard(step: SweepStep, override: bool) -> dict:
    """Stop before deleting when the plan is implausibly large, or the source looks empty."""
    summary = step.scan_summary() or {}
    total = int(summary.get("total", 0))
    planned = sum(
        n for (action, _, _), n in step.plan.counts().items() if action in ("erase", "redact")
    )
    caps = step.config.guard
    reasons = []
    if planned > caps.max_count:
        reasons.append(f"plan acts on {planned} records, above max_count {caps.max_count}")
    if total and planned / total > caps.max_fraction:
        reasons.append(
            f"plan acts on {planned} of {total} records ({planned / total:.0%}), above "
            f"max_fraction {caps.max_fraction:.0%}"
        )
    previous = step.scan_summary(run_id=step.trail.context.run_id) or {}
    if total == 0 and int(previous.get("total", 0)) >= ZERO_RECORDS_ALARM:
        reasons.append(
            f"source returned 0 records, the previous run saw {previous['total']} "
            "(a broken connection or filter looks like an empty account)"
        )
    result = {"planned": planned, "total": total, "tripped": bool(reasons), "override": override}
    if not reasons:
        return result
    text = "; ".join(reasons)
    if override or step.dry_run:
        event = "guard.overridden" if override else "guard.tripped"
        step.trail.append(
            [step.evidence(event, "dry_run" if step.dry_run else "overridden", planned=planned)]
        )
        log.warning(
            "guard for %s: %s (%s)",
            step.source_name,
            text,
            "overridden by param" if override else "dry run, nothing is deleted",
        )
        return result
    step.trail.append([step.evidence("guard.tripped", "stopped", planned=planned, total=total)])
    raise GuardTripped(
        f"guard tripped for source {step.source_name}: {text}. Nothing was deleted. Check the plan "
        "(table ks_plan for this run); if it is right, trigger ks_retention_daily again with "
        "param override_guard=true, or raise the cap in the retention policy (KS_POLICY_PATH) "
        f"(sources.{step.source_name}.guard)."
    )


# ---- apply ------------------------------------------------------------------------------------


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
    rows = [
        r
        for r in step.plan.rows([MANUAL_STATE], ["erase", "redact"], 100_000)
        if r.record_ref in set(refs)
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


def _act(step: SweepStep, plan: Plan, action: str, batch_size: int) -> None:
    blocked: set[str] = set()
    for attempt in range(CLAIM_RETRIES + 1):
        with _OutcomeWriter(step, plan, action) as writer:
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


class _OutcomeWriter:
    """Writes a batch's outcome rows in a second thread while the next batch's vendor calls go
    out, so the time the audit database takes does not hold the calls up (at the vendor's rate,
    it would: a third of the time at 100 requests/s).

    Write-ahead is unchanged: a batch's intents are committed before its first call, in the
    calling thread. The previous batch's outcomes are handed over only after the next batch's
    intents are in (the two would otherwise queue for the same chain lock), and at most one
    batch's outcomes are ever waiting. On any error, what is waiting is written first and then
    the outcomes known so far, in the calling thread, before the error goes on; a crash leaves
    at most two batches of open intents, which the next try reads back.
    """

    def __init__(self, step: SweepStep, plan: Plan, action: str):
        self.step, self.plan, self.action = step, plan, action
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ks-outcomes")
        self._running: Future | None = None
        self._waiting: tuple[dict, list[ActionResult]] | None = None

    def done(self, by_ref: dict[str, PlanRow], results: list[ActionResult]) -> None:
        """A batch's calls are done: its outcomes are written once the next intents are in."""
        self.hand_over()
        self._waiting = (by_ref, results)

    def hand_over(self) -> None:
        """Start writing the waiting outcomes (after the previous write has finished)."""
        self.wait()
        if self._waiting is not None:
            by_ref, results = self._waiting
            self._waiting = None
            self._running = self._pool.submit(
                _record_outcomes, self.step, self.plan, self.action, by_ref, results
            )

    def wait(self) -> None:
        if self._running is not None:
            running, self._running = self._running, None
            running.result()  # an error writing evidence stops the loop here

    def record_now(self, by_ref: dict[str, PlanRow], results: list[ActionResult]) -> None:
        """After an error: everything waiting, then these, in this thread."""
        self.hand_over()
        self.wait()
        _record_outcomes(self.step, self.plan, self.action, by_ref, results)

    def __enter__(self) -> _OutcomeWriter:
        return self

    def __exit__(self, kind, error, tb) -> None:
        try:
            self.hand_over()
            self.wait()
        except Exception:
            if error is None:
                raise
            log.exception("writing outcomes failed while handling another error")
        finally:
            self._pool.shutdown(wait=True)


def _act_on_batch(
    step: SweepStep, plan: Plan, action: str, batch: list[PlanRow], writer: _OutcomeWriter
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


def _record_outcomes(step, plan, action, by_ref, results: list[ActionResult]) -> None:
    if not results:
        return
    with transaction(step.engine) as conn:
        step.trail.append(
            [
                step.evidence(f"{action}.outcome", res.outcome, by_ref[res.ref], **res.details)
                for res in results
            ],
            conn,
        )
        for outcome in {res.outcome for res in results}:
            plan.mark(conn, [r.ref for r in results if r.outcome == outcome], DONE, outcome)
        for res in results:
            row = by_ref[res.ref]
            if res.outcome == Outcome.REDACTED and res.vendor_stamp_after and row.last_activity:
                step.ledger.record_write(conn, res.ref, row.last_activity, res.vendor_stamp_after)
        gone = [r.ref for r in results if r.outcome in (Outcome.ERASED, Outcome.ALREADY_ABSENT)]
        step.ledger.forget(conn, gone)
        plan.release(conn, [r.ref for r in results])


_VERIFIABLE = [Outcome.ERASED.value, Outcome.REDACTED.value, Outcome.ALREADY_ABSENT.value]


# ---- verify -----------------------------------------------------------------------------------


def verify(step: SweepStep) -> dict:
    """Read every acted-on record back: gone, or the redacted fields empty."""
    plan = step.plan
    counts: Counter = Counter()
    for batch in plan.batches([DONE], ["erase", "redact"], VERIFY_BATCH, _VERIFIABLE):
        present = step.source.present([r.record_ref for r in batch])
        ok, bad, evidence = [], [], []
        for row in batch:
            left = present.get(row.record_ref)
            if row.action == "erase":
                fine = left is None
            else:
                fine = left is None or not set(row.categories) & set(left)
            (ok if fine else bad).append(row)
            evidence.append(step.evidence("verify", "verified" if fine else "still_present", row))
        with transaction(step.engine) as conn:
            step.trail.append(evidence, conn)
            plan.mark(conn, [r.record_ref for r in ok], VERIFIED)
            plan.mark(conn, [r.record_ref for r in bad], DONE, "still_present")
        counts["verified"] += len(ok)
        counts["still_present"] += len(bad)
    if counts["still_present"]:
        raise VerificationFailed(
            f"{counts['still_present']} {step.source_name} records we acted on are still "
            f"there ({counts['verified']} verified); see the `verify` evidence with outcome "
            "still_present"
        )
    return dict(counts)
