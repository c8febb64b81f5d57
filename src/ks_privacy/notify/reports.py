"""Task bodies that tell people about the register and the week: deadline notices (daily, in
`ks_requests_deadline`) and the privacy officer's weekly digest (`ks_privacy_digest`)."""

from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa
from airflow.sdk import get_current_context

from ks_privacy import runtime
from ks_privacy.audit_db import connection
from ks_privacy.evidence import AuditTrail
from ks_privacy.notify import messages
from ks_privacy.notify.channels import deliver
from ks_privacy.notify.notifiers import run_link
from ks_privacy.notify.people import load_people
from ks_privacy.register import Register

log = logging.getLogger("ks_privacy.notify")

# evidence that counts in the digest: (event, outcome) -> column
DIGEST_EVENTS = {
    ("erase.outcome", "erased"): "erased",
    ("manual.confirmed", "erased"): "erased",
    ("redact.outcome", "redacted"): "redacted",
    ("hold", "held"): "held",
}


def _recipients(people, *roles: str) -> list:
    seen, found = set(), []
    for role in roles:
        for uid, person in people.members(role):
            if uid not in seen:
                seen.add(uid)
                found.append(person)
    return found


def send_deadline_notices() -> dict:
    """Ops and the privacy officer hear of every open request `deadline_warning_days` (7) from
    its deadline, and of every overdue one each day it stays open."""
    context = get_current_context()
    today = runtime.reference_time(context).date()
    warning = runtime.policy().human_steps.deadline_warning_days
    rows = [r for r in Register(runtime.audit_trail()).all() if not r.closed]
    due_soon = [(r.request_ref, r.due_on) for r in rows if (r.due_on - today).days == warning]
    overdue = [(r.request_ref, r.due_on, (today - r.due_on).days) for r in rows if r.due_on < today]
    result = {"due_soon": len(due_soon), "overdue": len(overdue)}
    if not due_soon and not overdue:
        log.info("no request is %d days from its deadline or past it: nothing to tell", warning)
        return result
    people = load_people()
    message = messages.deadlines(
        due_soon, overdue, warning, run_link(context["dag"].dag_id, context["run_id"])
    )
    result["channels"] = deliver(message, people, _recipients(people, "ops", "privacy_officer"))
    return result


def digest_figures(engine, start, end) -> messages.DigestFigures:
    """The week's figures from the evidence and the register (counts only)."""
    per_source: dict[str, dict[str, int]] = {}
    with connection(engine) as conn:
        rows = conn.execute(
            sa.text(
                "SELECT source, event, outcome, count(DISTINCT record_ref) FROM ks_evidence "
                "WHERE recorded_at >= :start AND recorded_at < :end AND source IS NOT NULL "
                "GROUP BY source, event, outcome"
            ),
            {"start": start, "end": end},
        )
        for source, event, outcome, n in rows:
            column = DIGEST_EVENTS.get((event, outcome))
            if column:
                counts = per_source.setdefault(source, {})
                counts[column] = counts.get(column, 0) + int(n)
    requests = {"open": 0, "closed": 0, "late": 0}
    for row in Register(AuditTrail(engine)).all():
        if not row.closed:
            requests["open"] += 1
            requests["late"] += row.due_on < end.date()
        elif start <= row.closed_at < end:
            requests["closed"] += 1
            requests["late"] += row.closed_at.date() > row.due_on
    chain = AuditTrail(engine).verify().summary()
    return messages.DigestFigures(start.date(), end.date(), per_source, requests, chain)


def send_weekly_digest() -> dict:
    """The privacy officer's week: per source erased / redacted / held, requests open / closed /
    late, and the audit chain's head (its full check, as `ks_audit_verify` runs it)."""
    context = get_current_context()
    end = runtime.reference_time(context)
    start = end - timedelta(days=7)
    figures = digest_figures(runtime.audit_trail().engine, start, end)
    for line in messages.digest(figures, "").lines:
        log.info(line)
    people = load_people()
    message = messages.digest(figures, run_link(context["dag"].dag_id, context["run_id"]))
    channels = deliver(message, people, _recipients(people, "privacy_officer"))
    return {"requests": dict(figures.requests), "channels": channels}
