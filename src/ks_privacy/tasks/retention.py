"""Task bodies of `ks_retention_daily`: thin adapters from Airflow's context to `sweep`."""

from __future__ import annotations

import logging

from airflow.sdk import get_current_context

from ks_privacy import anchors, run_report, runtime, sweep
from ks_privacy.tasks.actions import step_for

log = logging.getLogger("ks_privacy.tasks.retention")


def selected(source_name: str) -> bool:
    """Whether this run covers the source (param `sources`); skipped groups touch nothing."""
    return source_name in get_current_context()["params"]["sources"]


def full_scan_today(context) -> bool:
    """Param `full_scan`: "auto" means a full reconciliation scan on Sundays, else incremental."""
    choice = context["params"]["full_scan"]
    if choice == "auto":
        return runtime.reference_time(context).weekday() == 6
    return choice == "yes"


def scan(source_name: str) -> dict:
    step = step_for(source_name)
    full = full_scan_today(get_current_context())
    log.info(
        "scanning %s (%s, reference time %s, dry run %s)",
        source_name,
        "full" if full else "incremental",
        step.now.isoformat(),
        step.dry_run,
    )
    return sweep.scan(step, full_scan=full)


def guard(source_name: str) -> dict:
    override = bool(get_current_context()["params"]["override_guard"])
    return sweep.guard(step_for(source_name), override=override)


def purge_exports() -> int:
    """Access exports are personal data too: delete those older than the policy's
    `export_retention_days`, with evidence per export (its request reference only)."""
    from ks_privacy.evidence import Evidence
    from ks_privacy.export import expired_exports

    context = get_current_context()
    policy = runtime.policy()
    expired = expired_exports(policy.export_retention_days, runtime.reference_time(context))
    if not expired:
        return 0
    if context["params"]["dry_run"]:
        log.info("dry run: %d expired exports would be deleted", len(expired))
        return 0
    trail = runtime.audit_trail()
    for folder in expired:
        trail.append(
            [
                Evidence(
                    event="export.purge.intent",
                    outcome="intent",
                    source="exports",
                    record_ref=folder.name,
                )
            ]
        )
        folder.rmdir(recursive=True) if folder.is_dir() else folder.unlink()
        trail.append(
            [
                Evidence(
                    event="export.purge.outcome",
                    outcome="erased",
                    source="exports",
                    record_ref=folder.name,
                    rule=f"export>{policy.export_retention_days}d",
                )
            ]
        )
    return len(expired)


def report(sources: list[str]) -> dict:
    """The run's table per source and category; fails the run if anything needs a human."""
    context = get_current_context()
    params = context["params"]
    trail = runtime.audit_trail()
    policy = runtime.policy()
    ctx = trail.context
    chosen = [s for s in sources if s in params["sources"]]
    reports = run_report.build(trail.engine, policy, ctx.dag_id, ctx.run_id, chosen)
    for line in run_report.render(reports, policy, dry_run=bool(params["dry_run"])):
        log.info(line)
    skipped = sorted(set(sources) - set(chosen))
    if skipped:
        log.info("not in this run (param `sources`): %s", ", ".join(skipped))
    anchors.publish_from_task(trail.engine)  # the chain's head, outside the audit database
    problems = [f"{r.name}: {p}" for r in reports for p in r.problems]
    if problems:
        raise RuntimeError("the sweep needs attention:\n  " + "\n  ".join(problems))
    return {r.name: dict(r.records) for r in reports}
