"""The task bodies of `ks_request_intake` (read the mailbox, start the identity checks, remind
ops, mailbox retention) and of `ks_request_identity` (after a person's answer: open the request
and remove the ID copy, or close the request as identity_not_verified with a reply).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from airflow.sdk import get_current_context
from airflow.sdk.exceptions import AirflowException, AirflowSkipException

from ks_privacy import runtime
from ks_privacy.evidence import Evidence
from ks_privacy.intake import idcopy, replies
from ks_privacy.intake.ledger import Ledger
from ks_privacy.intake.mailbox import Mailbox, MailboxError
from ks_privacy.intake.reading import Outcome, handle
from ks_privacy.notify import messages
from ks_privacy.notify.channels import NotificationFailed, deliver
from ks_privacy.notify.notifiers import base_url, run_link
from ks_privacy.notify.people import load_people
from ks_privacy.pseudonym import pseudonymiser_from_airflow
from ks_privacy.register import Register
from ks_privacy.registration import DAG_OF_KIND
from ks_privacy.request_params import company_today
from ks_privacy.request_status import RequestStatus

log = logging.getLogger("ks_privacy.intake")
IDENTITY_DAG = "ks_request_identity"


def _tell_ops(message: messages.Message) -> bool:
    people = load_people(required=False)
    if people is None:
        log.warning("ks_people is not set: ops were not told (%s)", message.subject)
        return False
    deliver(message, people, [p for _, p in people.members("ops")])
    return True


def read_mailbox() -> dict:
    """Handle every new message; one summary to ops. Counts and references only."""
    context = get_current_context()
    trail = runtime.audit_trail()
    policy = runtime.policy()
    ledger = Ledger(trail.engine)
    people = load_people(required=False)
    pseudonymise = pseudonymiser_from_airflow()
    now = datetime.now(UTC)
    outcome = Outcome([], [], [])
    seen = 0
    with Mailbox(policy.intake.folder) as box:
        for listed in list(box.listing()):
            seen += 1
            entry = ledger.claim(listed.key, trail.context.run_id, listed.uid, box.uidvalidity)
            if entry is None:
                continue
            try:
                handle(
                    box, listed, entry, trail, pseudonymise, policy, ledger, people, outcome, now
                )
            except (replies.ReplyFailed, MailboxError) as exc:
                outcome.failed += 1
                log.error("message uid %d: %s; the next run tries again", listed.uid, exc)
            finally:
                ledger.release(listed.key)
    if outcome.keys:
        ti = context["ti"]
        summary = messages.intake_summary(
            outcome.registered, outcome.routed, run_link(ti.dag_id, ti.run_id)
        )
        try:
            told = _tell_ops(summary)
        except NotificationFailed as exc:
            raise AirflowException(f"{exc}; the next run tells ops again") from None
        if told:
            for key in outcome.keys:
                ledger.record(key, ops_told_at=datetime.now(UTC))
    result = {
        "messages": seen,
        "registered": [ref for ref, _, _ in outcome.registered],
        "for_a_person": len(outcome.routed),
        "failed": outcome.failed,
    }
    log.info(
        "mailbox: %d messages, %d registered, %d for a person, %d to try again",
        seen,
        len(outcome.registered),
        len(outcome.routed),
        outcome.failed,
    )
    if outcome.failed:
        raise AirflowException(f"{outcome.failed} message(s) could not be handled; see the log")
    return result


def identity_runs() -> list[dict]:
    """One `ks_request_identity` run per request from the mailbox that awaits its identity
    check; the run id is fixed per request, so a run that exists is not started again."""
    ledger = Ledger(runtime.audit_trail().engine)
    return [
        {"trigger_run_id": f"identity__{entry.request_ref}", "conf": {"request_ref": ref}}
        for entry, _ in ledger.awaiting_identity()
        if (ref := entry.request_ref)
    ]


def remind_identity() -> dict:
    """Remind ops, every `identity_reminder_days`, of the identity checks still waiting."""
    trail = runtime.audit_trail()
    policy = runtime.policy()
    ledger = Ledger(trail.engine)
    now = datetime.now(UTC)
    every = timedelta(days=policy.intake.identity_reminder_days)
    due = []
    for entry, registered_at in ledger.awaiting_identity():
        last = entry.reminded_at or registered_at
        if last is not None and now - _aware(last) >= every:
            due.append((entry, (now - _aware(registered_at)).days))
    if not due:
        return {"reminded": 0}
    link = f"{base_url()}/dags/{IDENTITY_DAG}"
    if _tell_ops(messages.identity_reminder([(e.request_ref, d) for e, d in due], link)):
        for entry, _ in due:
            ledger.record(entry.message_key, reminded_at=now)
    return {"reminded": len(due)}


def _aware(moment: datetime) -> datetime:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def mailbox_retention() -> dict:
    """Delete the messages of requests closed `mailbox_retention_days` ago (evidence
    `intake.mailbox_deleted`)."""
    trail = runtime.audit_trail()
    policy = runtime.policy()
    ledger = Ledger(trail.engine)
    cutoff = datetime.now(UTC) - timedelta(days=policy.intake.mailbox_retention_days)
    due = ledger.closed_before(cutoff)
    if not due:
        return {"deleted": 0}
    deleted = 0
    with Mailbox(policy.intake.folder) as box:
        for entry in due:
            try:
                listed = box.find(entry.message_key, entry.mailbox_uid, entry.uidvalidity)
            except MailboxError:
                outcome = "already_gone"
            else:
                box.delete(listed.uid)
                deleted += 1
                outcome = "deleted"
            trail.append(
                [
                    Evidence(
                        event="intake.mailbox_deleted",
                        outcome=outcome,
                        source="mailbox",
                        record_ref=entry.request_ref,
                        details={
                            "message": entry.message_key[:16],
                            "retention_days": policy.intake.mailbox_retention_days,
                        },
                    )
                ]
            )
            ledger.record(entry.message_key, mailbox_deleted_at=datetime.now(UTC))
    log.info("mailbox retention: %d messages deleted", deleted)
    return {"deleted": deleted}


# --- ks_request_identity ---------------------------------------------------------------------


def _run_ref() -> str:
    return str(get_current_context()["params"]["request_ref"]).strip()


def awaits_identity() -> bool:
    """Is this a request from the mailbox whose identity is still to be checked? Otherwise
    (checked already, closed, or not from the mailbox) the run has nothing to do."""
    ref = _run_ref()
    trail = runtime.audit_trail()
    row = Register(trail).get(ref)
    entry = Ledger(trail.engine).for_request(ref)
    if row is None or entry is None:
        raise AirflowException(f"{ref} is not a request registered from the mailbox")
    if row.status != RequestStatus.AWAITING_IDENTITY:
        log.info("%s is %s: no identity check to do", ref, row.status)
        return False
    return True


def record_answer(answer: dict) -> str:
    """Confirmed: record who, open the request, return the request DAG to start. Refused or
    timed out: close the request as identity_not_verified and reply to the sender; what
    follows is skipped."""
    ref = _run_ref()
    trail = runtime.audit_trail()
    register = Register(trail, runtime.policy().request_deadline_days)
    row = register.get(ref)
    if answer.get("decision") == "confirmed":
        register.confirm_identity(ref, answer["by"])
        log.info("%s: identity confirmed by %s", ref, answer["by"])
        return DAG_OF_KIND[row.kind]
    _close_unverified(trail, register, row, answer)
    raise AirflowSkipException(f"{ref} closed as identity_not_verified")


def _close_unverified(trail, register: Register, row, answer: dict) -> None:
    from ks_privacy.tasks.request_context import read_secret

    people = load_people(required=False)
    conn_id = people.email_connection if people else None
    sent = "not_sent"
    if conn_id:
        secret = read_secret(trail, row.request_ref)  # before the close destroys it
        try:
            reply = replies.not_verified(row.request_ref, row.received_on)
            replies.send(reply, secret.email, conn_id, people.email_from)
            sent = "sent"
        except replies.ReplyFailed as exc:
            log.error("%s: %s", row.request_ref, exc)
    register.set_status(
        row.request_ref,
        RequestStatus.IDENTITY_NOT_VERIFIED,
        decided_by=answer.get("by"),
        decision=answer.get("decision"),
        reply=sent,
    )


def remove_id_copy() -> dict:
    """The ID copy leaves the mailbox (policy `intake.id_copy`): the message replaced by a copy
    without its attachments, or deleted. Evidence `id_copy.deleted`."""
    ref = _run_ref()
    trail = runtime.audit_trail()
    policy = runtime.policy()
    ledger = Ledger(trail.engine)
    entry = ledger.for_request(ref)
    if entry.id_copy_removed_at is not None:
        return {"removed": "already"}
    mode = policy.intake.id_copy
    with Mailbox(policy.intake.folder) as box:
        listed = box.find(entry.message_key, entry.mailbox_uid, entry.uidvalidity)
        removed = None
        if mode == "strip":
            today = company_today(policy.timezone)
            copy, removed = idcopy.without_attachments(
                box.read(listed.uid), entry.message_key, today
            )
            box.append(copy, listed.flags, listed.internal_date)
        box.delete(listed.uid)
    row = Register(trail).get(ref)
    trail.append(
        [
            Evidence(
                event="id_copy.deleted",
                outcome="stripped" if mode == "strip" else "message_deleted",
                source="mailbox",
                record_ref=ref,
                subject_ref=row.subject_ref if row else None,
                rule=mode,
                details={
                    "message": entry.message_key[:16],
                    **({"attachments_removed": removed} if removed is not None else {}),
                },
            )
        ]
    )
    ledger.record(entry.message_key, id_copy_removed_at=datetime.now(UTC))
    log.info("%s: ID copy removed from the mailbox (%s)", ref, mode)
    return {"removed": mode}
