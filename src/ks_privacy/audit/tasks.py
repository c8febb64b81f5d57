"""Task bodies of `ks_audit_verify`: thin adapters from Airflow's context to `checks` and
`report`. Each check logs its result line by line and fails its task (without retries: a
broken promise does not mend by trying again) when it finds a problem."""

from __future__ import annotations

import logging
from datetime import timedelta

from airflow.sdk import get_current_context
from airflow.sdk.exceptions import AirflowFailException

from ks_privacy import runtime
from ks_privacy.audit import checks

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
    """Walk the whole chain from the genesis; a bad row fails the task and is named."""
    params = get_current_context()["params"]
    anchors = tuple(checks.parse_anchor(a) for a in params.get("anchors") or [])
    status = checks.check_chain(_engine(), anchors)
    chain = status.report
    if status.ok:
        log.info(status.summary())
        if chain.head_seq:
            log.info(
                "ANCHOR %s:%s (note it down: `audit verify --anchor` checks it later)",
                chain.head_seq,
                chain.head_hash,
            )
    _log_findings(list(status.findings))
    _fail("the audit chain does not verify", list(status.findings))
    return {"length": chain.length, "head_seq": chain.head_seq, "head_hash": chain.head_hash}


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
    written = report.write(_engine(), runtime.policy(), start, end, end, grace=grace)
    log.info("audit report written: %s", written.html)
    log.info("evidence CSV: %s (%s rows, sha256 %s)", written.csv, written.rows, written.csv_sha256)
    log.info("summary: %s", written.json)
    return {
        "html": written.html,
        "csv": written.csv,
        "csv_sha256": written.csv_sha256,
        "ok": written.ok,
        "rows": written.rows,
    }
