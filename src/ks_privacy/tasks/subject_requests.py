"""Tasks that carry a data-subject request run from its reference to its close: `check` (the
first task), the erasure's human approval (`proceed`, `record_decision`), `finish` (close the
request and write the person's letter) and the daily deadline report. The work in between is in
`request_work`.

A run is triggered with a request reference only; the request was registered before (see
ks_privacy.registration), with its address in the vault. Refusals name the field, are evidence
(`request.refused`) and fail the run; `check` is the one task that refuses.
"""

from __future__ import annotations

import logging
from urllib.parse import quote
from zoneinfo import ZoneInfo

from airflow.sdk import get_current_context
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from ks_privacy import confirmation, runtime
from ks_privacy.evidence import AuditTrail, Evidence
from ks_privacy.register import Register, RequestRow
from ks_privacy.registration import DAG_OF_KIND, record_refusal
from ks_privacy.request_params import (
    InvalidRequest,
    check_dry_run,
    check_ref,
    company_today,
)
from ks_privacy.request_status import RequestStatus
from ks_privacy.tasks import request_context, request_work

log = logging.getLogger("ks_privacy.tasks.subject_requests")

WORK_TASKS = {"access": "export", "rectification": "rectify", "consent": "withdraw"}
ACTIVE_RUN_STATES = ("queued", "running")


def check(kind: str) -> bool:
    """Is this a registered request of this kind that is not answered yet? Then this run carries
    it (a failed or abandoned earlier run is resumed). False (everything after is skipped) for
    a request already answered or carried by another run that is still going. A refusal names
    the field, writes `request.refused` and fails the run without retries."""
    context = get_current_context()
    params = context["params"]
    trail = runtime.audit_trail()
    registry = request_context.register(trail)
    raw_ref = params.get("request_ref")
    try:
        ref = check_ref(raw_ref)
        dry = check_dry_run(params.get("dry_run", False))
        row = registry.get(ref)
        if row is None:
            raise InvalidRequest(
                "request_ref",
                "is not registered: register the request first (`python -m ks_privacy request "
                "register`, or the Privacy requests page), then trigger with its reference",
            )
        if row.kind != kind:
            raise InvalidRequest(
                "request_ref", f"is a {row.kind} request: trigger {DAG_OF_KIND[row.kind]} for it"
            )
        if row.status == RequestStatus.AWAITING_IDENTITY:
            raise InvalidRequest(
                "identity_verified",
                "is not confirmed yet: the request came by e-mail, and a person confirms the ID "
                "copy first (ks_request_identity starts this run when they do)",
            )
    except InvalidRequest as refusal:
        record_refusal(trail, kind, raw_ref, refusal)
        raise AirflowFailException(f"{kind} request {refusal}. Nothing was touched.") from None
    if row.closed:
        return _duplicate(trail, row, f"was answered ({row.status})")
    if dry:
        request_context.read_secret(trail, ref)  # the address must still be there
        trail.append(
            [
                Evidence(
                    event="request.dry_run",
                    outcome="dry_run",
                    record_ref=ref,
                    subject_ref=row.subject_ref,
                    rule=kind,
                )
            ]
        )
        return True
    holder = _active_holder(context, row)
    if holder:
        return _duplicate(trail, row, f"is being handled by run {holder}")
    run_id = trail.context.run_id
    if row.run_id != run_id:
        if not registry.claim(ref, trail.context.dag_id, run_id, previous=row.run_id):
            return _duplicate(trail, row, "was just taken by another run")
        if row.status != RequestStatus.OPEN:  # a failed or abandoned run: start again
            registry.set_status(ref, RequestStatus.OPEN, resumed_by_run=run_id[:60])
    if kind == "rectification":
        _refuse_a_new_address_held_by_another(trail, registry, row)
    return True


def _duplicate(trail: AuditTrail, row: RequestRow, state: str) -> bool:
    trail.append(
        [
            Evidence(
                event="request.duplicate",
                outcome=row.status,
                record_ref=row.request_ref,
                subject_ref=row.subject_ref,
                rule=row.kind,
            )
        ]
    )
    log.warning("request %s %s: nothing done twice", row.request_ref, state)
    return False


def _active_holder(context, row: RequestRow) -> str | None:
    """The other run of this DAG that carries the request and is still queued or running."""
    ti = context["ti"]
    if row.dag_id != ti.dag_id or row.run_id in (None, ti.run_id):
        return None
    if row.status == RequestStatus.FAILED:
        return None
    try:
        state = str(ti.get_dagrun_state(dag_id=row.dag_id, run_id=row.run_id))
    except Exception:  # that run was deleted: nobody holds the request
        return None
    return row.run_id if state in ACTIVE_RUN_STATES else None


def _refuse_a_new_address_held_by_another(
    trail: AuditTrail, registry: Register, row: RequestRow
) -> None:
    """Two contacts on one address would stop every later erasure for a human and could mix
    two people in an access export: a new e-mail that another person holds is refused, before
    anything is changed anywhere. Checked here, not left to the vendors."""
    secret = request_context.read_secret(trail, row.request_ref)
    if "email" not in secret.changes:
        return
    held_in = request_work.sources_with_another_holder(trail, row.request_ref, secret)
    if not held_in:
        return
    refusal = InvalidRequest(
        "new_email",
        f"is already used by another person ({', '.join(held_in)}): nothing was changed anywhere",
    )
    _write_letter(trail, row.request_ref, "rectification", "refused")
    registry.set_status(
        row.request_ref, RequestStatus.REFUSED, field="new_email", sources=",".join(held_in)
    )
    raise AirflowFailException(f"rectification request {refusal}")


def proceed() -> bool:
    """A dry run stops after locating: nothing is asked, nothing is erased. Otherwise the next
    task waits for a person; the log says how to answer it without the UI."""
    if request_context.dry_run():
        return False
    ti = get_current_context()["ti"]
    for line in how_to_answer(ti.dag_id, ti.run_id, "approve", ["Approve", "Reject"]):
        log.info(line)
    return True


def how_to_answer(dag_id: str, run_id: str, task_id: str, options: list[str]) -> list[str]:
    """Where a waiting human step is answered: the UI, the REST API, or (runs started with
    `airflow dags test` on this machine) devtools."""
    try:
        from airflow.configuration import conf

        base = conf.get("api", "base_url", fallback="") or "http://localhost:8080"
    except Exception:  # configuration not readable here: show the default
        base = "http://localhost:8080"
    url = (
        f"{base.rstrip('/')}/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}"
        f"/taskInstances/{task_id}/-1/hitlDetails"
    )
    return [
        f"task {task_id} now waits for a person ({' or '.join(options)}). Answer it in the "
        "Airflow UI (the run's Required actions), or:",
        f"  curl -X PATCH '{url}' -H 'Authorization: Bearer <token>' "
        f"-H 'Content-Type: application/json' -d '{{\"chosen_options\": [\"{options[0]}\"]}}'",
        f"  python -m devtools.answer --dag {dag_id} --run '{run_id}' --task {task_id} "
        f"--option {options[0]} --by '<your name>'   (same machine and metadata database)",
    ]


def record_decision(response: dict) -> None:
    """Called by the approval operator: who decided what is evidence, and the register's state.
    A rejection closes the request (and destroys its address)."""
    context = get_current_context()
    ref = str(context["params"]["request_ref"]).strip()
    approved = response.get("chosen_options") == ["Approve"]
    user = response.get("responded_by_user") or {}
    who = str(user.get("name") or user.get("id") or "unknown")
    registry = request_context.register()
    if approved:
        registry.set_status(
            ref, RequestStatus.APPROVED, approved_by=who, decided_by=who, decision="approve"
        )
    else:
        registry.set_status(ref, RequestStatus.REJECTED, decided_by=who, decision="reject")


def finish(kind: str) -> dict:
    """Close the request from what this run did, and write the person's letter. A run with a
    failed task leaves the request `failed` (a new run with the same reference resumes it)."""
    context = get_current_context()
    trail = runtime.audit_trail()
    policy = runtime.policy()
    ref = request_context.run_ref()
    if request_context.dry_run():
        log.info("dry run of %s request %s: nothing was changed", kind, ref)
        return {"status": "dry_run"}
    registry = request_context.register(trail)
    row = registry.get(ref)
    if row is None or row.run_id != trail.context.run_id:  # `check` found it answered or taken
        raise AirflowSkipException(f"request {ref} is not carried by this run: nothing to close")
    failed = runtime.failed_tasks(context)
    problems = [f"task {t} failed" for t in failed]
    if row.status == RequestStatus.REJECTED and not problems:
        _write_letter(trail, ref, kind, "rejected")
        return {"status": str(RequestStatus.REJECTED)}
    if row.closed:
        return {"status": row.status}
    outcome, facts, unfinished = (
        _erasure_outcome(trail, policy) if kind == "erasure" else _work_outcome(kind, context)
    )
    problems += unfinished
    if problems:
        registry.set_status(ref, RequestStatus.FAILED)
        raise AirflowFailException(f"{kind} request {ref} is not complete: " + "; ".join(problems))
    text = _write_letter(trail, ref, kind, outcome, **facts)
    for line in text.splitlines():
        log.info(line)
    registry.set_status(ref, outcome)
    return {"status": str(outcome)}


def _searched(policy) -> list[str]:
    return sorted({confirmation.processor_label(policy, name) for name in policy.enabled_sources()})


def _erasure_outcome(trail: AuditTrail, policy):
    summary = confirmation.summarise(trail.engine, trail.context.dag_id, trail.context.run_id)
    unfinished = [
        f"{name}: {n} not done or not verified" for name, n in summary.unfinished.items() if n
    ]
    if summary.found == 0:
        return RequestStatus.NO_DATA_FOUND, {"searched": _searched(policy)}, unfinished
    return RequestStatus.COMPLETED, confirmation.erasure_facts(summary, policy), unfinished


def _work_outcome(kind: str, context):
    """The outcome from the work task's result (counts and field names, never values)."""
    policy = runtime.policy()
    result = context["ti"].xcom_pull(task_ids=WORK_TASKS[kind])
    if not isinstance(result, dict):
        return None, {}, [f"task {WORK_TASKS[kind]} left no result"]
    if not sum(result["found"].values()):
        return RequestStatus.NO_DATA_FOUND, {"searched": _searched(policy)}, []
    if kind == "access":
        facts = {
            "export": result["export"],
            "sources": confirmation.per_source(policy, result["found"]),
        }
    elif kind == "rectification":
        facts = {"sources": confirmation.per_source(policy, result["changed"])}
    else:
        facts = {"lists": result["lists_unsubscribed"]}
    return RequestStatus.COMPLETED, facts, []


def _write_letter(trail: AuditTrail, ref: str, kind: str, outcome: str, **facts) -> str:
    policy = runtime.policy()
    today = company_today(policy.timezone)
    text = confirmation.letter(ref, kind, str(outcome), today, **facts)
    location = confirmation.write(ref, text)
    trail.append(
        [
            Evidence(
                event="letter.written",
                outcome=str(outcome),
                record_ref=ref,
                rule=kind,
                details={"letter": f"{kind}_{outcome}", "location": location},
            )
        ]
    )
    return text


def deadline_report(due_soon_days: int = 7) -> dict:
    """The register against the four-week promise: a table in the log, and a failed task (so
    alerting fires) while any open request is past its deadline."""
    context = get_current_context()
    zone = ZoneInfo(runtime.policy().timezone)
    today = runtime.reference_time(context).astimezone(zone).date()
    rows = Register(runtime.audit_trail()).all()
    overdue, soon, lines = [], [], []
    for row in rows:
        if row.closed:
            late = row.closed_at.astimezone(zone).date() > row.due_on
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
