"""Legal holds by person: a register in the audit database, so a hold works in every source,
including those without a hold mark of their own (Tawk chats, the website store).

A hold names a kind and a case reference, never free text (which could carry names). Held
records are never touched by the sweep or an erasure request, and are counted as held.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import sqlalchemy as sa

from ks_privacy.audit_db import connection, transaction
from ks_privacy.evidence import AuditTrail, Evidence
from ks_privacy.state_evidence import record as record_state

KINDS = ("litigation", "tax", "authority", "other")
REFERENCE = re.compile(r"^[A-Z]{2,6}-\d{4}-\d{1,6}$")


class LegalHolds:
    def __init__(self, trail: AuditTrail):
        self.trail = trail

    def active(self) -> frozenset[str]:
        """Pseudonyms under hold now (a small set: read once per scan)."""
        with connection(self.trail.engine) as conn:
            rows = conn.execute(
                sa.text("SELECT subject_ref FROM ks_legal_holds WHERE lifted_at IS NULL")
            )
            return frozenset(r[0] for r in rows)

    def place(self, subject_ref: str, kind: str, reference: str, placed_by: str) -> bool:
        """Place (or re-place) a hold; False if it was already in force."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        if not REFERENCE.match(reference):
            raise ValueError("reference must look like CASE-2026-0007 (no names)")
        if subject_ref in self.active():
            return False
        now = datetime.now(UTC)
        with transaction(self.trail.engine) as conn:
            conn.execute(
                sa.text("DELETE FROM ks_legal_holds WHERE subject_ref = :s"), {"s": subject_ref}
            )
            conn.execute(
                sa.text(
                    "INSERT INTO ks_legal_holds (subject_ref, kind, reference, placed_by, "
                    "placed_at) VALUES (:s, :k, :r, :b, :t)"
                ),
                {"s": subject_ref, "k": kind, "r": reference, "b": placed_by, "t": now},
            )
            self.trail.append(
                [
                    Evidence(
                        event="legal_hold.placed",
                        outcome="held",
                        subject_ref=subject_ref,
                        record_ref=reference,
                        rule=kind,
                    )
                ],
                conn,
            )
            record_state(conn, "ks_legal_holds", {}, [subject_ref], self.trail.context)
        return True

    def lift(self, subject_ref: str, lifted_by: str) -> bool:
        if subject_ref not in self.active():
            return False
        with transaction(self.trail.engine) as conn:
            conn.execute(
                sa.text(
                    "UPDATE ks_legal_holds SET lifted_by = :b, lifted_at = :t "
                    "WHERE subject_ref = :s"
                ),
                {"s": subject_ref, "b": lifted_by, "t": datetime.now(UTC)},
            )
            self.trail.append(
                [Evidence(event="legal_hold.lifted", outcome="lifted", subject_ref=subject_ref)],
                conn,
            )
            record_state(conn, "ks_legal_holds", {}, [subject_ref], self.trail.context)
        return True
