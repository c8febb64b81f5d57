"""Scan: stream one source, decide each record against the policy, and store the run's plan.

Safe to retry: a run's plan is made once (`scan.completed` evidence), and the plan table adds
nothing twice.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ks_privacy.audit_db import transaction
from ks_privacy.evidence import Evidence
from ks_privacy.holds import LegalHolds
from ks_privacy.ledger import ClockLedger
from ks_privacy.plans import PlanRow
from ks_privacy.policy import Action, Facts, decide, last_activity
from ks_privacy.sources.base import ScanWindow, SourceRecord
from ks_privacy.sweep.step import SCAN_CHUNK, VERIFY_BATCH, SweepStep, chunks

log = logging.getLogger("ks_privacy.sweep")

ACTED_ON = (Action.ERASE, Action.REDACT, Action.HOLD)  # what goes into the plan


@dataclass
class _Scan:
    """One scan's running state: what it counted, and what each chunk leaves to write."""

    step: SweepStep
    ledger: ClockLedger
    cutoff: datetime
    ledger_refs: frozenset[str]
    held_people: frozenset[str]  # the register: holds in every source
    counts: Counter = field(default_factory=Counter)
    missed: list[Evidence] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)  # ledger entries the person's own
    # activity made meaningless


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
    state = _Scan(step, ledger, cutoff, ledger_refs, LegalHolds(step.trail).active())
    plan = step.plan
    unseen = set(ledger_refs)  # ledger refs the scan has not returned (yet)
    for chunk in chunks(step.source.scan(window), SCAN_CHUNK):
        rows = _decide_chunk(state, chunk)
        unseen.difference_update(r.ref for r in chunk)
        with transaction(step.engine) as conn:
            plan.add(conn, rows)
            step.trail.append(state.missed, conn)
            ledger.forget(conn, state.superseded)
        state.missed.clear()
        state.superseded.clear()
    _forget_vanished(step, ledger, sorted(unseen))
    counts = state.counts
    summary = {
        "full_scan": full_scan,
        "total": step.source.total(),
        **{k: counts[k] for k in sorted(counts)},
    }
    step.trail.append([step.evidence("scan.completed", "ok", **summary)])
    return summary


def _decide_chunk(state: _Scan, chunk: Sequence[SourceRecord]) -> list[PlanRow]:
    step, counts = state.step, state.counts
    entries = state.ledger.lookup([r.ref for r in chunk])
    rows = []
    for record in chunk:
        computed = last_activity(record.timestamps, step.config.clock)
        entry = entries.get(record.ref)
        activity = ClockLedger.effective_activity(computed, record.vendor_stamp, entry)
        if entry is not None and _restarted(record, entry):
            # the ledger no longer changes this record's decision (the vendor clock moved after
            # our write), and an entry kept would make a later redaction keep the old activity
            state.superseded.append(record.ref)
        decision = decide(step.policy, Facts(record.categories, activity, record.held), step.now)
        subject_ref = None
        if decision.action in ACTED_ON:
            subject_ref = step.pseudonymise(record.email)  # only for what is due: a hot loop
            if decision.action != Action.HOLD and subject_ref in state.held_people:
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
        if decision.action not in ACTED_ON:
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
            or record.vendor_stamp <= state.cutoff
            or record.ref in state.ledger_refs
        )
        if decision.action != Action.HOLD and not incremental_sees_it:
            counts["missed_by_incremental"] += 1
            state.missed.append(step.evidence("scan.missed_by_incremental", "bug", row))
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
