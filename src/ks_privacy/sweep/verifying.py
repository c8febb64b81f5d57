"""Verify: read every record the run acted on back from the vendor: gone, or the redacted
fields empty. Anything still there fails the task, with evidence per record."""

from __future__ import annotations

from collections import Counter

from ks_privacy.audit_db import transaction
from ks_privacy.plans import DONE, VERIFIED
from ks_privacy.sources.base import Outcome
from ks_privacy.sweep.step import VERIFY_BATCH, SweepStep, VerificationFailed

VERIFIABLE = [Outcome.ERASED.value, Outcome.REDACTED.value, Outcome.ALREADY_ABSENT.value]


def verify(step: SweepStep) -> dict:
    """Read every acted-on record back: gone, or the redacted fields empty."""
    plan = step.plan
    counts: Counter = Counter()
    for batch in plan.batches([DONE], ["erase", "redact"], VERIFY_BATCH, VERIFIABLE):
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
