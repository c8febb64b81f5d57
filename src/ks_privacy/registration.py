"""Registering a data-subject request: the one way in for the subject's address.

Every entry point calls `register_request`: the CLI (`python -m ks_privacy request register`),
the "Privacy requests" page in the Airflow UI, and the mailbox intake. It validates the request
(a refusal names the field and is evidence: `request.refused`), puts it in the register with its
deadline, and its personal values in the vault, in one transaction. What it returns, and what a
request run is then triggered with, is the reference only: the address never enters Airflow.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from ks_privacy.evidence import AuditTrail, Evidence
from ks_privacy.policy import RetentionPolicy
from ks_privacy.pseudonym import Pseudonymiser
from ks_privacy.register import KINDS, Register, RequestRow
from ks_privacy.request_params import (
    CHANGE_PARAMS,
    REQUEST_REF,
    InvalidRequest,
    check_changes,
    company_today,
    validate,
)
from ks_privacy.request_status import RequestStatus
from ks_privacy.vault import RequestSecret, Vault

DAG_OF_KIND = {
    "erasure": "ks_request_erasure",
    "access": "ks_request_access",
    "rectification": "ks_request_rectification",
    "consent": "ks_request_consent",
}
# what a registration takes, per kind (the address and the new values are personal data)
FIELDS = (
    "subject_email",
    "request_ref",
    "received_on",
    "identity_verified",
    "identity_verified_by",
)


@dataclass(frozen=True)
class Registration:
    row: RequestRow
    new: bool  # False: the reference was already registered for this person and kind

    @property
    def dag_id(self) -> str:
        return DAG_OF_KIND[self.row.kind]


def safe_ref(value: object) -> str | None:
    """The reference as evidence may hold it: only a well-formed one (a mistyped field could
    carry an address or a name)."""
    return value.strip() if isinstance(value, str) and REQUEST_REF.match(value.strip()) else None


def staff_name(name: str | None) -> str | None:
    """A user name fit for evidence: a plain name, not an e-mail address (some auth managers
    use those as user names; evidence holds none)."""
    text = (name or "").strip()
    return text if text and len(text) <= 80 and "@" not in text else None


def record_refusal(trail: AuditTrail, kind: str, ref: object, refusal: InvalidRequest) -> None:
    """`request.refused` naming the field. A refusal that leaves a registered request as it was
    (a reference of another kind, or already answered) names that reference in its details,
    not as the row's record: the request's own status evidence stays its own."""
    ref = safe_ref(ref)
    details = {"field": refusal.field}
    if ref is not None and Register(trail).get(ref) is not None:
        ref, details = None, details | {"request_ref": ref}
    trail.append(
        [
            Evidence(
                event="request.refused",
                outcome="refused",
                record_ref=ref,
                rule=kind,
                details=details,
            )
        ]
    )


def register_request(
    trail: AuditTrail,
    pseudonymise: Pseudonymiser,
    policy: RetentionPolicy,
    kind: str,
    fields: Mapping[str, object],
    now: datetime | None = None,
    registered_by: str | None = None,
    identity_pending: bool = False,
) -> Registration:
    """Validate and register one request; its address (and a rectification's new values) go to
    the vault. `fields` are the registration form's: subject_email, request_ref, received_on
    (YYYY-MM-DD, the company's calendar), identity_verified, identity_verified_by, reason
    (erasure) and new_* (rectification); `registered_by`: the signed-in user, where known. A
    refusal raises InvalidRequest after its evidence is written; nothing else is stored.
    `identity_pending` (the mailbox intake): registered as `awaiting_identity`, no verifier yet;
    the deadline runs from receipt all the same, and no request run starts before a person
    confirms the identity (ks_privacy.intake)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    try:
        today = company_today(policy.timezone, now)
        params = validate(
            {k: fields.get(k) for k in FIELDS} | {"reason": fields.get("reason", "request")},
            today,
            with_reason=kind == "erasure",
            identity_pending=identity_pending,
        )
        changes: dict[str, str] = {}
        if kind == "rectification":
            changes = check_changes(
                {change: fields.get(param) for param, change in CHANGE_PARAMS.items()},
                current_email=params.email,
            )
        register = Register(trail, policy.request_deadline_days, Vault(trail.engine, pseudonymise))
        subject = pseudonymise(params.email)
        existing = register.get(params.request_ref)
        if existing is not None and (existing.kind, existing.subject_ref) == (kind, subject):
            if existing.closed:
                raise InvalidRequest(
                    "request_ref",
                    f"was already answered ({existing.status}); a new request needs a new "
                    "reference",
                )
            return Registration(existing, new=False)
        try:
            row, new = register.register(
                params.request_ref,
                kind,
                subject,
                params.received_on,
                params.verified_by,
                params.reason if kind == "erasure" else None,
                secret=RequestSecret(params.email, changes),
                registered_by=staff_name(registered_by),
                status=RequestStatus.AWAITING_IDENTITY if identity_pending else RequestStatus.OPEN,
            )
        except ValueError as clash:  # the reference belongs to another request
            raise InvalidRequest("request_ref", str(clash).removeprefix("request_ref ")) from None
    except InvalidRequest as refusal:
        record_refusal(trail, kind, fields.get("request_ref"), refusal)
        raise
    return Registration(row, new)


def how_to_trigger(kind: str, request_ref: str, api_base: str = "http://<airflow>") -> list[str]:
    """The ways to start the request's run: the conf holds the reference, nothing personal."""
    dag_id = DAG_OF_KIND[kind]
    conf = json.dumps({"request_ref": request_ref})
    body = json.dumps({"logical_date": None, "conf": {"request_ref": request_ref}})
    return [
        f"Airflow UI: DAG {dag_id} > Trigger, request_ref = {request_ref}",
        f"CLI: airflow dags trigger {dag_id} -c {shlex.quote(conf)}",
        f"REST: curl -X POST {api_base}/api/v2/dags/{dag_id}/dagRuns "
        f"-H 'Authorization: Bearer <token>' -H 'Content-Type: application/json' "
        f"-d {shlex.quote(body)}",
    ]
