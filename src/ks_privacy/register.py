"""The register of data-subject requests (table `ks_requests`): one row per request reference,
with its deadline (received + four weeks, as the statement promises) and its status.

Every change of status is also an evidence event (`request.<status>`), so the register can be
checked against the chain. The register holds the subject's pseudonym, never the address: that
lives in the vault (ks_privacy.vault) while the request is open, and closing the request
destroys it. The methods of `Register` are the only code that writes `ks_requests`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ks_privacy import vault
from ks_privacy.audit_db import connection, transaction
from ks_privacy.evidence import AuditTrail, Evidence
from ks_privacy.request_status import CLOSED, RequestStatus
from ks_privacy.state_evidence import record as record_state
from ks_privacy.timeutil import as_utc

# the names older code imports; the statuses themselves live in ks_privacy.request_status
OPEN = RequestStatus.OPEN
AWAITING_APPROVAL = RequestStatus.AWAITING_APPROVAL
APPROVED = RequestStatus.APPROVED
COMPLETED = RequestStatus.COMPLETED
NO_DATA_FOUND = RequestStatus.NO_DATA_FOUND
REJECTED = RequestStatus.REJECTED
REFUSED = RequestStatus.REFUSED
FAILED = RequestStatus.FAILED
TIMED_OUT = RequestStatus.TIMED_OUT
KINDS = ("erasure", "access", "rectification", "consent")


@dataclass(frozen=True)
class RequestRow:
    request_ref: str
    kind: str
    reason: str | None
    subject_ref: str
    received_on: date
    due_on: date
    status: str
    identity_verified_by: str | None
    approved_by: str | None
    dag_id: str | None
    run_id: str | None
    registered_at: datetime
    closed_at: datetime | None
    decided_by: str | None = None
    decision: str | None = None

    @property
    def closed(self) -> bool:
        return self.status in CLOSED


_FIELDS = {f.name for f in fields(RequestRow)}


def _date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _row(mapping) -> RequestRow:
    data = {k: v for k, v in dict(mapping).items() if k in _FIELDS}
    data["received_on"] = _date(data["received_on"])
    data["due_on"] = _date(data["due_on"])
    data["registered_at"] = as_utc(data["registered_at"])
    data["closed_at"] = as_utc(data["closed_at"])
    return RequestRow(**data)


class Register:
    def __init__(
        self, trail: AuditTrail, deadline_days: int = 28, address_vault: vault.Vault | None = None
    ):
        self.trail = trail
        self.engine: Engine = trail.engine
        self.deadline_days = deadline_days
        self.vault = address_vault

    def get(self, request_ref: str) -> RequestRow | None:
        with connection(self.engine) as conn:
            return self._get(conn, request_ref)

    @staticmethod
    def _get(conn: Connection, request_ref: str) -> RequestRow | None:
        row = (
            conn.execute(
                sa.text("SELECT * FROM ks_requests WHERE request_ref = :ref"), {"ref": request_ref}
            )
            .mappings()
            .first()
        )
        return _row(row) if row else None

    def register(
        self,
        request_ref: str,
        kind: str,
        subject_ref: str,
        received_on: date,
        identity_verified_by: str | None,
        reason: str | None = None,
        secret: vault.RequestSecret | None = None,
        registered_by: str | None = None,
        status: RequestStatus = RequestStatus.OPEN,
    ) -> tuple[RequestRow, bool]:
        """Add the request (and its evidence, and its address to the vault) unless the reference
        is known; returns (row, new).

        The same reference for another kind or person is refused: a typo must not merge two
        requests."""
        existing = self.get(request_ref)
        if existing is not None:
            if existing.kind != kind or existing.subject_ref != subject_ref:
                raise ValueError(
                    f"request_ref {request_ref!r} is already registered for another request "
                    f"(kind {existing.kind}); use a new reference"
                )
            return existing, False
        if secret is not None and self.vault is None:
            raise ValueError("a request's address can only be registered through the vault")
        ctx = self.trail.context
        due = received_on + timedelta(days=self.deadline_days)
        with transaction(self.engine) as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO ks_requests (request_ref, kind, reason, subject_ref, received_on, "
                    "due_on, status, identity_verified_by, dag_id, run_id, registered_at) VALUES "
                    "(:ref, :kind, :reason, :subject, :received, :due, :status, :verifier, :dag, "
                    ":run, :now)"
                ),
                {
                    "ref": request_ref,
                    "kind": kind,
                    "reason": reason,
                    "subject": subject_ref,
                    "received": received_on,
                    "due": due,
                    "status": str(status),
                    "verifier": identity_verified_by,
                    "dag": ctx.dag_id,
                    "run": ctx.run_id,
                    "now": datetime.now(UTC),
                },
            )
            events = [
                Evidence(
                    event="request.registered",
                    outcome=str(status),
                    record_ref=request_ref,
                    subject_ref=subject_ref,
                    rule=f"{kind}{'/' + reason if reason else ''}",
                    details={
                        "received_on": received_on.isoformat(),
                        "due_on": due.isoformat(),
                        **({"registered_by": registered_by} if registered_by else {}),
                    },
                )
            ]
            if secret is not None:
                self.vault.store(conn, request_ref, secret)
                events.append(
                    Evidence(
                        event="vault.stored",
                        outcome="encrypted",
                        record_ref=request_ref,
                        subject_ref=subject_ref,
                        rule=kind,
                        details={"values": len(secret.values())},
                    )
                )
            self.trail.append(events, conn)
            self._record_state(conn, request_ref, keys=secret is not None)
        return self.get(request_ref), True

    def confirm_identity(self, request_ref: str, verified_by: str) -> RequestRow:
        """A person checked the ID copy of a request that came by e-mail: record who, and open
        the request for its run (evidence `request.open`, details `identity_verified_by`)."""
        current = self.get(request_ref)
        if current is None or current.status != RequestStatus.AWAITING_IDENTITY:
            raise ValueError(f"request {request_ref!r} is not awaiting an identity check")
        with transaction(self.engine) as conn:
            moved = conn.execute(
                sa.text(
                    "UPDATE ks_requests SET identity_verified_by = :by, status = :status "
                    "WHERE request_ref = :ref AND status = :awaiting"
                ),
                {
                    "by": verified_by,
                    "status": str(OPEN),
                    "ref": request_ref,
                    "awaiting": str(RequestStatus.AWAITING_IDENTITY),
                },
            ).rowcount
            if moved != 1:  # another run confirmed or closed it a moment ago: one decision only
                raise ValueError(f"request {request_ref!r} is no longer awaiting an identity check")
            self.trail.append(
                [
                    Evidence(  # a status move like any other, so the auditors' check follows it
                        event=f"request.{OPEN}",
                        outcome=str(OPEN),
                        record_ref=request_ref,
                        subject_ref=current.subject_ref,
                        rule=current.kind,
                        details={"identity_verified_by": verified_by},
                    )
                ],
                conn,
            )
            self._record_state(conn, request_ref)
        return self.get(request_ref)

    def claim(self, request_ref: str, dag_id: str, run_id: str, previous: str | None) -> bool:
        """This run now carries the request (the first run, or one resuming a failed run), if
        the request is still carried by `previous` (the run id read before): of two runs
        claiming at once, one wins, the other gets False."""
        same = "run_id IS NULL" if previous is None else "run_id = :previous"
        with transaction(self.engine) as conn:
            claimed = conn.execute(
                sa.text(
                    "UPDATE ks_requests SET dag_id = :d, run_id = :r "
                    f"WHERE request_ref = :ref AND {same}"
                ),
                {"d": dag_id, "r": run_id, "ref": request_ref, "previous": previous},
            ).rowcount
            if claimed:
                self._record_state(conn, request_ref)
        return claimed == 1

    def set_status(
        self,
        request_ref: str,
        status: str,
        approved_by: str | None = None,
        decided_by: str | None = None,
        decision: str | None = None,
        **details,
    ) -> RequestRow:
        """Move the request on (evidence `request.<status>`). Closing statuses stamp `closed_at`
        and destroy the request's address in the vault (evidence `vault.key_destroyed`)."""
        status = RequestStatus(status)  # an unknown status is a bug: refuse it here
        current = self.get(request_ref)
        if current is None:
            raise KeyError(f"request {request_ref!r} is not registered")
        now = datetime.now(UTC)
        with transaction(self.engine) as conn:
            conn.execute(
                sa.text(
                    "UPDATE ks_requests SET status = :status, "
                    "approved_by = COALESCE(:approved_by, approved_by), "
                    "decided_by = COALESCE(:decided_by, decided_by), "
                    "decision = COALESCE(:decision, decision), "
                    "closed_at = CASE WHEN :closing THEN :now ELSE closed_at END "
                    "WHERE request_ref = :ref"
                ),
                {
                    "status": str(status),
                    "approved_by": approved_by,
                    "decided_by": decided_by,
                    "decision": decision,
                    "closing": status.closed,
                    "now": now,
                    "ref": request_ref,
                },
            )
            extra = {"decided_by": decided_by, "decision": decision, **details}
            events = [
                Evidence(
                    event=f"request.{status}",
                    outcome=str(status),
                    record_ref=request_ref,
                    subject_ref=current.subject_ref,
                    rule=current.kind,
                    details={k: v for k, v in extra.items() if v is not None},
                )
            ]
            shredded = status.closed and vault.shred(conn, request_ref)
            if shredded:
                events.append(
                    Evidence(
                        event="vault.key_destroyed",
                        outcome="destroyed",
                        record_ref=request_ref,
                        subject_ref=current.subject_ref,
                        rule=current.kind,
                        details={"closed_as": str(status)},
                    )
                )
            self.trail.append(events, conn)
            self._record_state(conn, request_ref, keys=shredded)
        return self.get(request_ref)

    def _record_state(self, conn: Connection, request_ref: str, keys: bool = False) -> None:
        """Mirror the register row (and, where it changed, the vault's key row) into the chain:
        a deadline edited by hand, or a key destroyed early or left after close, is found."""
        record_state(conn, "ks_requests", {}, [request_ref], self.trail.context)
        if keys:
            record_state(conn, "ks_request_keys", {}, [request_ref], self.trail.context)

    def holds_address(self, request_ref: str) -> bool:
        with connection(self.engine) as conn:
            return vault.holds(conn, request_ref)

    def all(self) -> list[RequestRow]:
        with connection(self.engine) as conn:
            rows = conn.execute(
                sa.text("SELECT * FROM ks_requests ORDER BY due_on, request_ref")
            ).mappings()
            return [_row(r) for r in rows]
