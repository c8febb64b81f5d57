"""The intake run's main task: read the privacy mailbox, and for each message not handled yet
register the request it makes (deadline from receipt, identity still to be checked) and
acknowledge it, or leave it in the mailbox for a person with the reason; then tell ops, in one
message, what came in. Each message is claimed in the ledger first, so overlapping or repeated
runs handle it once; a step that failed (SMTP down) is done by the next run.

Logs, XCom, exceptions and evidence get references, message keys, mailbox uids, kinds and
counts: never an address, a name, a subject line or a body.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from ks_privacy.evidence import AuditTrail, Evidence
from ks_privacy.intake import replies
from ks_privacy.intake.classify import Verdict, classify
from ks_privacy.intake.ledger import REGISTERED, ROUTED, Entry, Ledger
from ks_privacy.intake.mailbox import Listed, Mailbox
from ks_privacy.intake.message import parse
from ks_privacy.policy import RetentionPolicy
from ks_privacy.pseudonym import Pseudonymiser
from ks_privacy.registration import register_request
from ks_privacy.request_params import InvalidRequest

log = logging.getLogger("ks_privacy.intake")
REGISTERED_BY = "mailbox intake"


@dataclass
class Outcome:
    registered: list[tuple[str, str, bool]]  # (ref, kind, id copy)
    routed: list[tuple[str, int, str]]  # (reason, uid, arrival)
    keys: list[str]  # the messages this summary covers
    failed: int = 0


def reference(seq: int, received_on: date) -> str:
    return f"MAIL-{received_on.year}-{seq:04d}"


def received_at(sent_at: datetime | None, listed: Listed, now: datetime) -> datetime:
    """When the company received the request: the message's Date, unless it is missing or in
    the future (a wrong clock); then the server's arrival time (INTERNALDATE)."""
    arrival = listed.internal_date or now
    if sent_at is None or sent_at > max(arrival, now):
        return arrival
    return sent_at


def _local(moment: datetime, policy: RetentionPolicy) -> datetime:
    return moment.astimezone(ZoneInfo(policy.timezone))


def _route(trail: AuditTrail, ledger: Ledger, listed: Listed, reason: str) -> None:
    trail.append(
        [
            Evidence(
                event="intake.routed",
                outcome="for_a_person",
                source="mailbox",
                rule=reason,
                details={"message": listed.key[:16], "mailbox_uid": listed.uid},
            )
        ]
    )
    ledger.record(listed.key, outcome=ROUTED, reason=reason)
    log.info("message uid %d left for a person: %s", listed.uid, reason)


def _register(
    trail: AuditTrail,
    pseudonymise: Pseudonymiser,
    policy: RetentionPolicy,
    ledger: Ledger,
    listed: Listed,
    entry: Entry,
    verdict: Verdict,
    when: datetime,
    id_copy: bool,
) -> str | None:
    """The registration, or None when the register refused it (routed to a person)."""
    from ks_privacy.tasks.request_context import mask

    mask(verdict.subject_email)
    received_on = _local(when, policy).date()
    ref = reference(entry.seq, received_on)
    try:
        registration = register_request(
            trail,
            pseudonymise,
            policy,
            verdict.kind,
            {
                "subject_email": verdict.subject_email,
                "request_ref": ref,
                "received_on": received_on.isoformat(),
                "reason": verdict.reason,
            },
            registered_by=REGISTERED_BY,
            identity_pending=True,
        )
    except InvalidRequest as refusal:
        log.warning("message uid %d: the register refused it (%s)", listed.uid, refusal.field)
        _route(trail, ledger, listed, "refused")
        return None
    trail.append(
        [
            Evidence(
                event="intake.registered",
                outcome=REGISTERED,
                source="mailbox",
                record_ref=ref,
                subject_ref=registration.row.subject_ref,
                rule=verdict.kind,
                details={
                    "reason": verdict.reason,
                    "id_copy": id_copy,
                    "message": listed.key[:16],
                    "mailbox_uid": listed.uid,
                    "received_on": received_on.isoformat(),
                },
            )
        ]
    )
    ledger.record(
        listed.key,
        outcome=REGISTERED,
        reason=verdict.kind if verdict.reason == "request" else f"{verdict.kind}/{verdict.reason}",
        request_ref=ref,
        id_copy=id_copy,
    )
    log.info("message uid %d registered as %s request %s", listed.uid, verdict.kind, ref)
    return ref


def acknowledge(trail: AuditTrail, ledger: Ledger, entry: Entry, people) -> None:
    """Send the acknowledgement to the address in the request's vault (once: the ledger
    records it). No SMTP connection configured: evidence `not_sent`, and ops hear of it."""
    from ks_privacy.register import Register
    from ks_privacy.tasks.request_context import read_secret

    row = Register(trail).get(entry.request_ref)
    conn_id = people.email_connection if people else None
    outcome = "not_sent"
    if conn_id:
        secret = read_secret(trail, entry.request_ref)
        reply = replies.acknowledgement(
            entry.request_ref, row.kind, row.received_on, row.due_on, entry.id_copy
        )
        replies.send(reply, secret.email, conn_id, people.email_from)
        outcome = "sent"
    else:
        log.warning("no e-mail connection in ks_people: %s was not acknowledged", row.request_ref)
    trail.append(
        [
            Evidence(
                event="intake.acknowledged",
                outcome=outcome,
                source="mailbox",
                record_ref=row.request_ref,
                subject_ref=row.subject_ref,
                rule=row.kind,
                details={"due_on": row.due_on.isoformat()},
            )
        ]
    )
    ledger.record(entry.message_key, acknowledged_at=datetime.now(UTC))


def handle(
    box: Mailbox,
    listed: Listed,
    entry: Entry,
    trail: AuditTrail,
    pseudonymise: Pseudonymiser,
    policy: RetentionPolicy,
    ledger: Ledger,
    people,
    outcome: Outcome,
    now: datetime,
) -> None:
    """One claimed message, from where an earlier run left it."""
    if entry.outcome is None:
        if listed.size > policy.intake.max_message_mb * 1_000_000:
            _route(trail, ledger, listed, "too_large")  # not even downloaded
        else:
            item = parse(box.read(listed.uid), listed.key)
            verdict = classify(item)
            if verdict.route:
                _route(trail, ledger, listed, verdict.route)
            else:
                when = received_at(item.sent_at, listed, now)
                _register(
                    trail, pseudonymise, policy, ledger, listed, entry, verdict, when, item.id_copy
                )
        entry = ledger.get(listed.key)
    arrival = _local(listed.internal_date or now, policy).strftime("%Y-%m-%d %H:%M")
    if entry.outcome == ROUTED:
        outcome.routed.append((entry.reason, listed.uid, arrival))
        outcome.keys.append(listed.key)
        return
    if entry.acknowledged_at is None:
        acknowledge(trail, ledger, entry, people)
    kind = (entry.reason or "").split("/")[0]
    outcome.registered.append((entry.request_ref, kind, entry.id_copy))
    outcome.keys.append(listed.key)
