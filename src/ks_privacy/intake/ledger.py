"""Which mailbox messages were handled, and how far (table `ks_intake_messages`, keyed by the
message key: a hash, nothing personal). A run claims a message before it handles it; another
run, overlapping or repeated, skips a message that is handled or claimed by a live run, and
continues one whose run died (the claim is stale after CLAIM_MINUTES). Every step records its
time, so a repeat does only what is left: register, acknowledge, tell ops.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ks_privacy.audit_db import connection, transaction

CLAIM_MINUTES = 30
_LOCK = 0x6B735F69  # "ks_i": PostgreSQL advisory lock numbering new messages
REGISTERED, ROUTED = "registered", "routed"
STEPS = (
    "acknowledged_at",
    "ops_told_at",
    "reminded_at",
    "id_copy_removed_at",
    "mailbox_deleted_at",
)


@dataclass(frozen=True)
class Entry:
    message_key: str
    seq: int
    outcome: str | None
    reason: str | None
    request_ref: str | None
    id_copy: bool
    acknowledged_at: datetime | None
    ops_told_at: datetime | None
    reminded_at: datetime | None
    id_copy_removed_at: datetime | None
    mailbox_deleted_at: datetime | None
    mailbox_uid: int | None
    uidvalidity: int | None
    first_seen_at: datetime | None = None

    @property
    def done(self) -> bool:
        return self.outcome is not None and self.ops_told_at is not None


def _entry(row) -> Entry:
    data = dict(row)
    data["id_copy"] = bool(data["id_copy"])
    return Entry(**{k: v for k, v in data.items() if k in Entry.__dataclass_fields__})


class Ledger:
    def __init__(self, engine: Engine):
        self.engine = engine

    def get(self, key: str) -> Entry | None:
        with connection(self.engine) as conn:
            row = (
                conn.execute(
                    sa.text("SELECT * FROM ks_intake_messages WHERE message_key = :k"), {"k": key}
                )
                .mappings()
                .first()
            )
        return _entry(row) if row else None

    def for_request(self, request_ref: str) -> Entry | None:
        with connection(self.engine) as conn:
            row = (
                conn.execute(
                    sa.text("SELECT * FROM ks_intake_messages WHERE request_ref = :r"),
                    {"r": request_ref},
                )
                .mappings()
                .first()
            )
        return _entry(row) if row else None

    def claim(self, key: str, run_id: str, uid: int, uidvalidity: int) -> Entry | None:
        """This run handles the message now: the entry (new or unfinished), or None when it is
        handled already or a live run holds it."""
        now = datetime.now(UTC)
        with transaction(self.engine) as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK})")
            conn.execute(
                sa.text(
                    "INSERT INTO ks_intake_messages (message_key, seq, first_seen_at, id_copy) "
                    "SELECT :k, COALESCE(MAX(seq), 0) + 1, :now, FALSE FROM ks_intake_messages "
                    "WHERE TRUE ON CONFLICT (message_key) DO NOTHING"
                ),
                {"k": key, "now": now},
            )
            row = (
                conn.execute(
                    sa.text("SELECT * FROM ks_intake_messages WHERE message_key = :k"), {"k": key}
                )
                .mappings()
                .one()
            )
            entry = _entry(row)
            if entry.done:
                return None
            taken = conn.execute(
                sa.text(
                    "UPDATE ks_intake_messages SET claimed_by = :run, claimed_at = :now, "
                    "mailbox_uid = :uid, uidvalidity = :validity WHERE message_key = :k AND "
                    "(claimed_by IS NULL OR claimed_by = :run OR claimed_at < :stale)"
                ),
                {
                    "run": run_id[:250],
                    "now": now,
                    "uid": uid,
                    "validity": uidvalidity,
                    "k": key,
                    "stale": now - timedelta(minutes=CLAIM_MINUTES),
                },
            ).rowcount
        return entry if taken else None

    def record(self, key: str, **values) -> None:
        """Store a step's result: outcome, reason, request_ref, id_copy, or a step's time."""
        allowed = {"outcome", "reason", "request_ref", "id_copy", *STEPS}
        unknown = set(values) - allowed
        if unknown:
            raise ValueError(f"not a ledger column: {sorted(unknown)}")
        sets = ", ".join(f"{name} = :{name}" for name in values)
        with transaction(self.engine) as conn:
            conn.execute(
                sa.text(f"UPDATE ks_intake_messages SET {sets} WHERE message_key = :key"),
                {**values, "key": key},
            )

    def release(self, key: str) -> None:
        """A run is done with the message (or gave up on it): others may take it."""
        with transaction(self.engine) as conn:
            conn.execute(
                sa.text("UPDATE ks_intake_messages SET claimed_by = NULL WHERE message_key = :k"),
                {"k": key},
            )

    def awaiting_identity(self) -> list[tuple[Entry, datetime]]:
        """Requests from the mailbox whose identity nobody confirmed yet, with their
        registration time."""
        with connection(self.engine) as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT m.*, r.registered_at AS registered_at FROM ks_intake_messages m "
                    "JOIN ks_requests r ON r.request_ref = m.request_ref "
                    "WHERE r.status = 'awaiting_identity' ORDER BY m.seq"
                )
            ).mappings()
            return [(_entry(r), r["registered_at"]) for r in rows]

    def closed_before(self, cutoff: datetime) -> list[Entry]:
        """Messages of requests closed before `cutoff` that are still in the mailbox."""
        with connection(self.engine) as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT m.* FROM ks_intake_messages m "
                    "JOIN ks_requests r ON r.request_ref = m.request_ref "
                    "WHERE r.closed_at IS NOT NULL AND r.closed_at <= :cutoff "
                    "AND m.mailbox_deleted_at IS NULL ORDER BY m.seq"
                ),
                {"cutoff": cutoff},
            ).mappings()
            return [_entry(r) for r in rows]
