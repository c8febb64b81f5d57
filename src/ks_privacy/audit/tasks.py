"""Task bodies of `ks_audit_verify`: thin adapters from Airflow's context to `checks` and
`report`. Each check logs its result line by line and fails its task (without retries: a
broken promise does not mend by trying again) when it finds a problem."""

from __future__ import annotations

import logging
from datetime import timedelta

from airflow.sdk import get_current_context
from airflow.sdk.exceptions import AirflowFailException

from ks_privacy import runtime
from ks_privacy.audit import chain_checks, checks

log = logging.getLogger("ks_privacy.audit")
MAX_LISTED = 25


def _engine():
    return runtime.audit_trail().engine


def _fail(title: str, findings: list[checks.Finding]) -> None:
    problems = [f.text for f in findings if f.problem]
    if not problems:
        return
    listed = problems[:MAX_LISTED]
    more = f"\n  ... and {len(problems) - len(listed)} more" if len(problems) > len(listed) else ""
    raise AirflowFailException(f"{title}:\n  " + "\n  ".join(listed) + more)


def _log_findings(findings: list[checks.Finding]) -> None:
    for finding in findings[:200]:
        if finding.problem:
            log.error("PROBLEM (%s): %s", finding.check, finding.text)
        else:
            log.warning("flag (%s): %s", finding.check, finding.text)


def verify_chain() -> dict:
    """Walk the whole chain from the genesis and check it against every anchor in the anchor
    store, the append-only triggers and the mirrored tables; a problem fails the task and is
    named. Only a chain that passes gets its head published as a new anchor."""
    from ks_privacy import anchors, signing, timestamps

    params = get_current_context()["params"]
    key = signing.load_private_key()
    tsa = timestamps.configured_authority()
    noted = [chain_checks.parse_anchor(a) for a in params.get("anchors") or []]
    found = chain_checks.load_anchors(public=key.public_key(), tsa=tsa)
    engine = _engine()
    status = chain_checks.check_chain(engine, [*found, *chain_checks.given_anchors(noted)])
    _log_findings(list(status.findings))
    _fail("the audit chain does not verify", list(status.findings))
    log.info(status.summary())
    published = anchors.publish_from_task(engine)
    chain = status.report
    return {
        "length": chain.length,
        "head_seq": chain.head_seq,
        "head_hash": chain.head_hash,
        "anchors_checked": len(status.anchors),
        "anchor": published.name if published else None,
    }


def check_verifications() -> dict:
    """Every erased/redacted outcome has its `verify` read-back (after a grace period)."""
    context = get_current_context()
    grace = timedelta(hours=int(context["params"]["verify_grace_hours"]))
    status = checks.check_verifications(_engine(), runtime.reference_time(context), grace)
    log.info("read-backs: %s", status.summary())
    _log_findings(status.findings)
    _fail("erasures or redactions without a successful read-back", status.findings)
    return {
        "removals": status.removals,
        "verified": status.verified,
        "awaiting": len(status.awaiting),
    }


def check_requests() -> dict:
    """Every request in the register closed within four weeks, or flagged."""
    context = get_current_context()
    policy = runtime.policy()
    now = runtime.reference_time(context)
    status = checks.check_requests(_engine(), now.date(), policy.request_deadline_days)
    log.info("requests: %s", status.summary())
    for row in status.rows:
        log.info(
            "REQUEST ref=%s kind=%s subject=%s received=%s due=%s closed=%s days=%s verdict=%s",
            row.request_ref,
            row.kind,
            row.subject_ref,
            row.received_on,
            row.due_on,
            row.closed_on or "-",
            row.days_open,
            row.verdict,
        )
    _log_findings(status.findings)
    _fail("data-subject requests past their four-week limit", status.findings)
    return {
        verdict: sum(r.verdict == verdict for r in status.rows)
        for verdict in ("on time", "late", "open", "due soon", "overdue")
    }


def write_report() -> dict:
    """The auditor report (HTML, CSV, JSON) for the `period_days` before the run's time."""
    from ks_privacy.audit import report  # matplotlib: imported when the task runs, not at parse

    context = get_current_context()
    params = context["params"]
    end = runtime.reference_time(context)
    start = end - timedelta(days=int(params["period_days"]))
    grace = timedelta(hours=int(params["verify_grace_hours"]))
    from ks_privacy import signing

    key = signing.load_private_key()
    found = chain_checks.load_anchors(public=key.public_key())
    written = report.write(
        _engine(), runtime.policy(), start, end, end, grace=grace, anchors=found, key=key
    )
    log.info("audit report written and signed: %s", written.html)
    log.info("evidence CSV: %s (%s rows, sha256 %s)", written.csv, written.rows, written.csv_sha256)
    log.info("summary: %s", written.json)
    return {
        "html": written.html,
        "csv": written.csv,
        "csv_sha256": written.csv_sha256,
        "ok": written.ok,
        "rows": written.rows,
    }
