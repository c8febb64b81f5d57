"""Task bodies of the data-subject request DAGs (erasure, access, rectification, consent).

The subject's address is read from the run's params inside each task, masked in real task logs,
and only ever leaves as a pseudonym: never in XCom, logs, evidence or exceptions.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from urllib.parse import quote, quote_plus

from airflow.sdk import get_current_context
from airflow.sdk.exceptions import AirflowFailException
from airflow.sdk.log import mask_secret

from ks_privacy import confirmation, export, runtime
from ks_privacy.audit_db import transaction
from ks_privacy.evidence import Evidence
from ks_privacy.holds import LegalHolds
from ks_privacy.plans import Plan, PlanRow
from ks_privacy.pseudonym import pseudonymiser_from_airflow
from ks_privacy.register import AWAITING_APPROVAL, CLOSED, FAILED, OPEN, REJECTED, Register
from ks_privacy.request_params import InvalidRequest, RequestParams, check_changes, validate
from ks_privacy.sources import build_source

log = logging.getLogger("ks_privacy.tasks.subject_requests")

RECTIFY_PARAMS = {
    "new_first_name": "first_name",
    "new_last_name": "last_name",
    "new_phone": "phone",
    "new_address": "address",
    "new_email": "email",
}


def _mask(value: str) -> None:
    """Mask a personal value in task logs as typed, normalised and as it appears in a URL's
    query (a vendor lookup puts the address there; urllib3 logs URLs at DEBUG)."""
    for form in {value, value.strip(), value.strip().lower()}:
        if form:
            mask_secret(form)
            mask_secret(quote(form, safe=""))
            mask_secret(quote_plus(form))


def _params(kind: str) -> RequestParams:
    context = get_current_context()
    raw = dict(context["params"])
    if isinstance(raw.get("subject_email"), str) and raw["subject_email"].strip():
        _mask(raw["subject_email"])
    parsed = validate(raw, datetime.now(UTC).date(), with_reason=kind == "erasure")
    if kind == "rectification":
        changes = check_changes({new: raw.get(old) for old, new in RECTIFY_PARAMS.items()})
        for value in changes.values():
            _mask(value)
        parsed = RequestParams(**{**parsed.__dict__, "changes": changes})
    return parsed


def check(kind: str) -> dict:
    """First task: what the form's JSON schema cannot say. A refusal names the field and the
    reason, writes only a refusal event, and fails the run without retries."""
    try:
        params = _params(kind)
    except InvalidRequest as refusal:
        trail = runtime.audit_trail()
        ref = get_current_context()["params"].get("request_ref")
        safe_ref = ref if isinstance(ref, str) and len(ref) < 40 and "@" not in ref else None
        trail.append(
            [
                Evidence(
                    event="request.refused",
                    outcome="refused",
                    record_ref=safe_ref,
                    rule=kind,
                    details={"field": refusal.field},
                )
            ]
        )
        raise AirflowFailException(f"{kind} request {refusal}. Nothing was touched.") from None
    return {"request_ref": params.request_ref, "kind": kind, "dry_run": params.dry_run}


def register(kind: str) -> bool:
    """Put the request in the register (deadline: received + 4 weeks). False, and everything
    after skipped, when this reference was already answered or is being handled by another run."""
    params = _params(kind)
    trail = runtime.audit_trail()
    subject = pseudonymiser_from_airflow()(params.email)
    if params.dry_run:
        trail.append(
            [
                Evidence(
                    event="request.dry_run",
                    outcome="dry_run",
                    record_ref=params.request_ref,
                    subject_ref=subject,
                    rule=kind,
                )
            ]
        )
        return True
    registry = Register(trail, runtime.policy().request_deadline_days)
    try:
        row, new = registry.register(
            params.request_ref,
            kind,
            subject,
            params.received_on,
            params.verified_by,
            params.reason if kind == "erasure" else None,
        )
    except ValueError as exc:
        raise AirflowFailException(str(exc)) from None
    if new or row.run_id == trail.context.run_id:
        return True
    if row.status == FAILED:
        registry.set_status(params.request_ref, OPEN, resumed_by_run=trail.context.run_id[:60])
        return True
    trail.append(
        [
            Evidence(
                event="request.duplicate",
                outcome=row.status,
                record_ref=params.request_ref,
                subject_ref=subject,
                rule=kind,
            )
        ]
    )
    state = "was answered" if row.status in CLOSED else "is being handled by another run"
    log.warning(
        "request %s %s (status %s): nothing done twice", params.request_ref, state, row.status
    )
    return False


def locate() -> dict:
    """Find the person in every source (exact, normalised address) and plan the erasure."""
    params = _params("erasure")
    trail = runtime.audit_trail()
    pseudonymise = pseudonymiser_from_airflow()
    subject = pseudonymise(params.email)
    policy = runtime.policy()
    held_person = subject in LegalHolds(trail).active()
    counts = {}
    for name in policy.enabled_sources():
        source = build_source(policy, name)
        records = source.find(params.email)
        if source.one_record_per_person and len(records) > 1:
            trail.append(
                [
                    Evidence(
                        event="request.ambiguous",
                        outcome="stopped",
                        source=name,
                        record_ref=params.request_ref,
                        subject_ref=subject,
                        details={"matches": len(records)},
                    )
                ]
            )
            raise AirflowFailException(
                f"{len(records)} {name} records carry this address: a person must look at "
                f"them (merge or erase by hand); nothing was erased for {params.request_ref}"
            )
        rows = [
            PlanRow(
                record_ref=r.ref,
                subject_ref=subject,
                action="hold" if r.held or held_person else "erase",
                categories=tuple(sorted(r.categories)),
                rule=f"request:{params.reason}",
                age_days=None,
            )
            for r in records
        ]
        plan = Plan(trail.engine, trail.context.dag_id, trail.context.run_id, name)
        with transaction(trail.engine) as conn:
            plan.add(conn, rows)
            trail.append(
                [
                    Evidence(
                        event="request.located",
                        outcome="found",
                        source=name,
                        record_ref=params.request_ref,
                        subject_ref=subject,
                        details={
                            "erase": sum(r.action == "erase" for r in rows),
                            "hold": sum(r.action == "hold" for r in rows),
                        },
                    )
                ],
                conn,
            )
        counts[name] = {
            "erase": sum(r.action == "erase" for r in rows),
            "hold": sum(r.action == "hold" for r in rows),
        }
        log.info(
            "%s: %d records to erase, %d on legal hold",
            name,
            counts[name]["erase"],
            counts[name]["hold"],
        )
    if not params.dry_run:
        Register(trail).set_status(params.request_ref, AWAITING_APPROVAL)
    return counts


def proceed() -> bool:
    """A dry run stops after locating: nothing is asked, nothing is erased."""
    return not bool(get_current_context()["params"]["dry_run"])


def record_decision(response: dict) -> None:
    """Called by the approval operator: who decided what is evidence, and the register's state."""
    context = get_current_context()
    ref = context["params"]["request_ref"]
    approved = response.get("chosen_options") == ["Approve"]
    user = response.get("responded_by_user") or {}
    who = str(user.get("name") or user.get("id") or "unknown")
    Register(runtime.audit_trail()).set_status(
        ref, "approved" if approved else REJECTED, approved_by=who, decided_by=who
    )


def finish(kind: str) -> dict:
    """Close the request from the evidence of this run and write the person's confirmation."""
    context = get_current_context()
    try:
        params = _params(kind)
    except InvalidRequest as refusal:  # `check` recorded it; the run must still show red
        raise AirflowFailException(f"{kind} request {refusal}; nothing was touched") from None
    trail = runtime.audit_trail()
    policy = runtime.policy()
    if params.dry_run:
        log.info("dry run of %s request %s: nothing was changed", kind, params.request_ref)
        return {"status": "dry_run"}
    registry = Register(trail, policy.request_deadline_days)
    row = registry.get(params.request_ref)
    if row is None or row.run_id != trail.context.run_id:
        return {"status": "duplicate" if row else "not_registered"}
    if row.status == REJECTED:
        text = confirmation.rejected(params.request_ref, kind)
        confirmation.write(params.request_ref, text)
        return {"status": REJECTED}
    summary = confirmation.summarise(trail.engine, trail.context.dag_id, trail.context.run_id)
    problems = [
        f"{name}: {n} not done or not verified" for name, n in summary.unfinished.items() if n
    ]
    failed_upstream = runtime.failed_tasks(context)
    if problems or failed_upstream:
        registry.set_status(params.request_ref, FAILED)
        raise RuntimeError(
            f"{kind} request {params.request_ref} is not complete: "
            + "; ".join(problems + [f"task {t} failed" for t in failed_upstream])
        )
    text = confirmation.completed(params.request_ref, kind, summary, policy)
    confirmation.write(params.request_ref, text)
    for line in text.splitlines():
        log.info(line)
    registry.set_status(params.request_ref, "completed")
    return {"status": "completed", **summary.counts}


def access_export() -> dict:
    """Gather everything every source holds on the person into one zip (JSON + CSV per
    source); its sha256 is evidence. The file is personal data: it expires with the sweep."""
    params = _params("access")
    trail = runtime.audit_trail()
    policy = runtime.policy()
    data = {
        name: build_source(policy, name).export(params.email) for name in policy.enabled_sources()
    }
    written = export.write_export(params.request_ref, data)
    trail.append(
        [
            Evidence(
                event="export.written",
                outcome="written",
                record_ref=params.request_ref,
                subject_ref=pseudonymiser_from_airflow()(params.email),
                details={
                    "sha256": written.sha256,
                    "bytes": written.size,
                    "location": written.location_hint,
                    **{f"records.{k}": v for k, v in written.counts.items()},
                },
            )
        ]
    )
    log.info("export for %s: %d bytes, sha256 %s", params.request_ref, written.size, written.sha256)
    return {"sha256": written.sha256, "bytes": written.size, "records": written.counts}


def rectify() -> dict:
    """Apply the given field changes in every source holding the person; evidence lists which
    fields changed where, never the values."""
    params = _params("rectification")
    trail = runtime.audit_trail()
    policy = runtime.policy()
    subject = pseudonymiser_from_airflow()(params.email)
    changed: dict[str, int] = {}
    for name in policy.enabled_sources():
        source = build_source(policy, name)
        evidence = []
        for record in source.find(params.email):
            fields = source.rectify(record.ref, params.changes)
            evidence.append(
                Evidence(
                    event="rectify.outcome",
                    outcome="rectified" if fields else "not_held",
                    source=name,
                    record_ref=record.ref,
                    subject_ref=subject,
                    categories=tuple(fields),
                    rule=params.request_ref,
                )
            )
            changed[name] = changed.get(name, 0) + bool(fields)
        trail.append(evidence)
    return changed


def withdraw_consent() -> dict:
    """Unsubscribe everywhere consent is the basis (ActiveCampaign lists), stop website tracking,
    and record it."""
    params = _params("consent")
    trail = runtime.audit_trail()
    policy = runtime.policy()
    subject = pseudonymiser_from_airflow()(params.email)
    result = {}
    for name in policy.enabled_sources():
        counts = build_source(policy, name).withdraw_consent(params.email)
        trail.append(
            [
                Evidence(
                    event="consent.withdrawn",
                    outcome="done",
                    source=name,
                    record_ref=params.request_ref,
                    subject_ref=subject,
                    details=counts,
                )
            ]
        )
        result[name] = counts
    return result


def deadline_report(due_soon_days: int = 7) -> dict:
    """The register against the four-week promise: a table in the log, and a failed task (so
    alerting fires) while any open request is past its deadline."""
    context = get_current_context()
    today = runtime.reference_time(context).date()
    rows = Register(runtime.audit_trail()).all()
    overdue, soon, lines = [], [], []
    for row in rows:
        if row.closed:
            late = row.closed_at.date() > row.due_on
            flag = "closed late" if late else "closed in time"
        else:
            left = (row.due_on - today).days
            flag = f"OVERDUE by {-left} d" if left < 0 else f"due in {left} d"
            (overdue if left < 0 else soon if left <= due_soon_days else []).append(row)
        lines.append(
            f"{row.request_ref:<16}{row.kind:<15}{row.received_on.isoformat():<12}"
            f"{row.due_on.isoformat():<12}{row.status:<19}{flag}"
        )
    log.info("%-16s%-15s%-12s%-12s%-19s%s", "request", "kind", "received", "due", "status", "")
    for line in lines:
        log.info(line)
    log.info(
        "%d open requests due within %d days, %d overdue", len(soon), due_soon_days, len(overdue)
    )
    if overdue:
        raise RuntimeError(
            f"{len(overdue)} requests are past the four-week deadline: "
            + ", ".join(r.request_ref for r in overdue)
        )
    return {"open": sum(not r.closed for r in rows), "due_soon": len(soon), "overdue": 0}
