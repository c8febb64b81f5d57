"""Guard: stop before deleting when a plan is implausibly large, or the source looks empty.

A tripped guard deletes nothing and tells the operator how to go on (override, or a higher cap).
"""

from __future__ import annotations

import logging

from ks_privacy.sweep.step import GuardTripped, SweepStep

log = logging.getLogger("ks_privacy.sweep")

ZERO_RECORDS_ALARM = 10  # a source that had at least this many yesterday and none today trips


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
