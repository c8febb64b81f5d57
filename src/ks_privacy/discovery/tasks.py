"""Task bodies of `ks_data_inventory`: classify each source's fields, then report and fail when
the statement no longer matches what the systems hold. Detector libraries are imported when a
task runs, never when the DAG file is parsed."""

from __future__ import annotations

import logging

from airflow.sdk import get_current_context
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from ks_privacy import runtime
from ks_privacy.evidence import Evidence

log = logging.getLogger("ks_privacy.discovery")
MAX_LISTED = 25


def _completed(trail, source_name: str) -> bool:
    ctx = trail.context
    where = "WHERE dag_id = :d AND run_id = :r AND source = :s AND event = 'inventory.completed'"
    params = {"d": ctx.dag_id, "r": ctx.run_id, "s": source_name}
    return next(trail.rows(where, params), None) is not None


def classify(source_name: str) -> dict:
    """Read every record of the source (or the param's sample), classify every field, and record
    the counts and findings as evidence. Returns counts only (XCom carries no values)."""
    from ks_privacy.discovery import inventory
    from ks_privacy.discovery.fieldmap import FieldMap
    from ks_privacy.discovery.report import safe_name
    from ks_privacy.discovery.sampling import Sample
    from ks_privacy.sources import build_source

    context = get_current_context()
    params = context["params"]
    if source_name not in params["sources"]:
        raise AirflowSkipException(f"{source_name} is not in this run (param `sources`)")
    policy = runtime.policy()
    trail = runtime.audit_trail()
    if _completed(trail, source_name):
        log.info("%s already classified in this run; not reading it again", source_name)
        return {"source": source_name, "already_done": True}
    source = build_source(policy, source_name)
    size = int(params["sample_size"])
    sample = Sample(size, source.total() if size else 0)
    log.info("classifying %s: %s", source_name, sample.describe())
    today = runtime.reference_time(context).date()
    result = inventory.classify(source_name, source.inventory(sample), today)
    fields = FieldMap.of(source_name, policy.sources[source_name])
    found = inventory.findings(result, policy, fields)
    events = [
        Evidence(
            event="inventory.field",
            outcome="counted",
            source=source_name,
            categories=tuple(sorted(count.found)),
            rule=inventory.rule_text(fields.rule(name)),
            details={"field": safe_name(name), "values": count.values, **dict(count.found)},
        )
        for name, count in sorted(result.fields.items())
    ]
    events += [
        Evidence(
            event="inventory.finding",
            outcome=f.kind,
            source=source_name,
            record_ref=f.record_ref,
            categories=(f.category,) if f.category else (),
            rule=f.rule,
            details={"field": safe_name(f.field), "count": f.count},
        )
        for f in found
    ]
    events.append(
        Evidence(
            event="inventory.completed",
            outcome="ok",
            source=source_name,
            details={
                "records": result.records,
                "fields": len(result.fields),
                "sample_size": sample.size,
                "account_total": sample.total,
            },
        )
    )
    trail.append(events)
    return {
        "source": source_name,
        "records": result.records,
        "findings": {kind: sum(f.kind == kind for f in found) for kind in inventory.KINDS},
    }


def report(sources: list[str]) -> dict:
    """The table in the task log and the HTML report; fails the run on a BSN, an unlisted
    category or personal data the sweep does not keep to its term (a failed run notifies)."""
    from ks_privacy.discovery import report as inventory_report

    context = get_current_context()
    policy = runtime.policy()
    trail = runtime.audit_trail()
    ctx = trail.context
    day = runtime.reference_time(context).date()
    built = inventory_report.build(trail.engine, policy, ctx.dag_id, ctx.run_id, day)
    for line in inventory_report.render_lines(built, policy):
        log.info(line)
    written = inventory_report.write(built, policy)
    log.info("inventory report written: %s (summary %s)", written.html, written.json)
    missing = sorted(
        set(sources) & set(context["params"]["sources"]) - {s.source for s in built.sources}
    )
    problems = [f.describe(policy) for f in built.failing]
    problems += [f"{name}: not classified (its task failed)" for name in missing]
    if problems:
        listed = problems[:MAX_LISTED]
        more = (
            f"\n  ... and {len(problems) - len(listed)} more" if len(problems) > MAX_LISTED else ""
        )
        raise AirflowFailException(
            "the data inventory found what the privacy statement does not allow:\n  "
            + "\n  ".join(listed)
            + more
        )
    return {"html": written.html, "findings": len(built.findings)}
