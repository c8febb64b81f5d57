"""The clock ledger: our own writes must not restart the retention clock.

Vendors bump a record's update time when we redact a field (ActiveCampaign's `udate`, Google's
`updateTime`). Before such a write we keep the last activity we had seen, and the vendor's stamp
after the write. Later scans use the kept activity while the vendor clock still shows only our
write; a later vendor stamp means the person really did something, and the clock restarts.
The ledger moves deadlines, so every write to it is mirrored into the audit chain
(ks_privacy.state_evidence).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ks_privacy.audit_db import connection
from ks_privacy.state_evidence import record as record_state
from ks_privacy.timeutil import as_utc


class ClockLedger:
    def __init__(self, engine: Engine, source: str):
        self.engine = engine
        self.source = source

    def record_write(
        self, conn: Connection, ref: str, activity_before: datetime, vendor_stamp_after: datetime
    ) -> None:
        """After a redaction: keep the earlier activity (an older entry for the ref wins)."""
        params = {
            "source": self.source,
            "ref": ref,
            "before": activity_before,
            "after": vendor_stamp_after,
        }
        existing = conn.execute(
            sa.text(
                "SELECT activity_before FROM ks_clock_ledger "
                "WHERE source = :source AND record_ref = :ref"
            ),
            params,
        ).first()
        if existing is None:
            conn.execute(
                sa.text(
                    "INSERT INTO ks_clock_ledger (source, record_ref, activity_before, "
                    "vendor_stamp_after) VALUES (:source, :ref, :before, :after)"
                ),
                params,
            )
        else:
            params["before"] = min(as_utc(existing[0]), activity_before)
            conn.execute(
                sa.text(
                    "UPDATE ks_clock_ledger SET activity_before = :before, "
                    "vendor_stamp_after = :after WHERE source = :source AND record_ref = :ref"
                ),
                params,
            )
        record_state(conn, "ks_clock_ledger", {"source": self.source}, [ref])

    def lookup(self, refs: Sequence[str]) -> dict[str, tuple[datetime, datetime]]:
        """ref -> (activity before our write, vendor stamp after it), for refs in the ledger."""
        if not refs:
            return {}
        query = sa.text(
            "SELECT record_ref, activity_before, vendor_stamp_after FROM ks_clock_ledger "
            "WHERE source = :source AND record_ref IN :refs"
        ).bindparams(sa.bindparam("refs", expanding=True))
        with connection(self.engine) as conn:
            rows = conn.execute(query, {"source": self.source, "refs": list(refs)})
            return {ref: (as_utc(before), as_utc(after)) for ref, before, after in rows}

    def refs_due_by(self, cutoff: datetime) -> frozenset[str]:
        """Refs whose kept activity is old enough that they may be due: an incremental scan must
        read them even though the vendor clock (bumped by us) says they are recent."""
        with connection(self.engine) as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT record_ref FROM ks_clock_ledger "
                    "WHERE source = :source AND activity_before <= :cutoff"
                ),
                {"source": self.source, "cutoff": cutoff},
            )
            return frozenset(r[0] for r in rows)

    def forget(self, conn: Connection, refs: Sequence[str]) -> None:
        """Erased records, or records with real new activity, leave the ledger."""
        if not refs:
            return
        removed = conn.execute(
            sa.text(
                "DELETE FROM ks_clock_ledger WHERE source = :source AND record_ref IN :refs "
                "RETURNING record_ref"
            ).bindparams(sa.bindparam("refs", expanding=True)),
            {"source": self.source, "refs": list(refs)},
        )
        record_state(conn, "ks_clock_ledger", {"source": self.source}, [r[0] for r in removed])

    @staticmethod
    def effective_activity(
        computed: datetime | None,
        vendor_stamp: datetime | None,
        entry: tuple[datetime, datetime] | None,
    ) -> datetime | None:
        """The last activity to decide on, given the ledger entry for the record (if any)."""
        if entry is None or computed is None:
            return computed
        before, after = entry
        if vendor_stamp is not None and vendor_stamp > after:
            return computed  # activity after our write: the clock genuinely restarted
        return min(computed, before)
