"""The register of data-subject requests (table `ks_requests`): one row per request reference,
with its deadline (received + four weeks, as the statement promises) and its status.

Every change of status is also an evidence event (`request.<status>`), so the register can be
checked against the chain. The register holds the subject's pseudonym, never the address.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ks_privacy.audit_db import connection, transaction
from ks_privacy.evidence import AuditTrail, Evidence
from ks_privacy.state_evidence import record as record_state
from ks_privacy.timeutil import as_utc

OPEN, AWAITING_APPROVAL, COMPLETED, REJECTED, FAILED = (
    "open",
    "awaiting_approval",
    "completed",
    "rejected",
    "failed",
)
CLOSED = (COMPLETED, REJECTED)
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

    @property
    def closed(self) -> bool:
        return self.status in CLOSED


def _date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _row(mapping) -> RequestRow:
    data = dict(mapping)
    data["received_on"] = _date(data["received_on"])
    data["due_on"] = _date(data["due_on"])
    data["registered_at"] = as_utc(data["registered_at"])
    data["closed_at"] = as_utc(data["closed_at"])
    return RequestRow(**data)


class Register:
    def __init__(self, trail: AuditTrail, deadline_days: int = 28):
        self.trail = trail
        self.engine: Engine = trail.engine
        self.deadline_days = deadline_days

    def get(self, request_ref: str) -> RequestRow | None:
        with connection(self.engine) as conn:
            row = (
                conn.execute(
                    sa.text("SELECT * FROM ks_requests WHERE request_ref = :ref"),
                    {"ref": request_ref},
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
        identity_verified_by: str,
        reason: str | None = None,
    ) -> tuple[RequestRow, bool]:
        """Add the request (and its evidence) unless the reference is known; returns (row, new).

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
        ctx = self.trail.context
        now = datetime.now(UTC)
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
                    "status": OPEN,
                    "verifier": identity_verified_by,
                    "dag": ctx.dag_id,
                    "run": ctx.run_id,
                    "now": now,
                },
            )
            self.trail.append(
                [
                    Evidence(
                        event="request.registered",
                        outcome=OPEN,
                        record_ref=request_ref,
                        subject_ref=subject_ref,
                        rule=f"{kind}{'/' + reason if reason else ''}",
                        details={"received_on": received_on.isoformat(), "due_on": due.isoformat()},
                    )
                ],
                conn,
            )
            record_state(conn, "ks_requests", {}, [request_ref], ctx)
        return self.get(request_ref), True

    def set_status(
        self, request_ref: str, status: str, approved_by: str | None = None, **details
    ) -> RequestRow:
        """Move the request on; closing statuses stamp `closed_at`. Evidence `request.<status>`."""
        current = self.get(request_ref)
        if current is None:
            raise KeyError(f"request {request_ref!r} is not registered")
        now = datetime.now(UTC)
        with transaction(self.engine) as conn:
            conn.execute(
                sa.text(
                    "UPDATE ks_requests SET status = :status, "
                    "approved_by = COALESCE(:approved_by, approved_by), "
                    "closed_at = CASE WHEN :closing THEN :now ELSE closed_at END "
                    "WHERE request_ref = :ref"
                ),
                {
                    "status": status,
                    "approved_by": approved_by,
                    "closing": status in CLOSED,
                    "now": now,
                    "ref": request_ref,
                },
            )
            self.trail.append(
                [
                    Evidence(
                        event=f"request.{status}",
                        outcome=status,
                        record_ref=request_ref,
                        subject_ref=current.subject_ref,
                        rule=current.kind,
                        details={k: v for k, v in details.items() if v is not None},
                    )
                ],
                conn,
            )
            record_state(conn, "ks_requests", {}, [request_ref], self.trail.context)
        return self.get(request_ref)

    def all(self) -> list[RequestRow]:
        with connection(self.engine) as conn:
            rows = conn.execute(
                sa.text("SELECT * FROM ks_requests ORDER BY due_on, request_ref")
            ).mappings()
            return [_row(r) for r in rows]
