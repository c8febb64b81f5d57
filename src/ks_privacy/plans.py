"""The plan of a run: which records it acts on, and how far it got with each.

A plan holds refs, pseudonyms, decisions and states, never personal values. Its state machine
(planned -> intent -> done, and verified) is what makes apply resumable: a retry or rerun skips
what is done and reads back what was in flight when a process died. Apply acts on what the plan
says, so every write to it is mirrored into the audit chain (ks_privacy.state_evidence).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ks_privacy.audit_db import connection
from ks_privacy.state_evidence import record as record_state
from ks_privacy.timeutil import as_utc

PLANNED, INTENT, DONE, VERIFIED = "planned", "intent", "done", "verified"
MANUAL_STATE = "manual"  # waiting for a person to act in the vendor's own UI
STALE_CLAIM = timedelta(minutes=15)


@dataclass(frozen=True)
class PlanRow:
    record_ref: str
    subject_ref: str | None
    action: str
    categories: tuple[str, ...]
    rule: str | None
    age_days: int | None
    last_activity: datetime | None = None
    state: str = PLANNED
    outcome: str | None = None


_COLUMNS = (
    "record_ref, subject_ref, action, categories, rule, age_days, last_activity, state, outcome"
)


def _row(mapping) -> PlanRow:
    return PlanRow(
        record_ref=mapping["record_ref"],
        subject_ref=mapping["subject_ref"],
        action=mapping["action"],
        categories=tuple(c for c in (mapping["categories"] or "").split(",") if c),
        rule=mapping["rule"],
        age_days=mapping["age_days"],
        last_activity=as_utc(mapping["last_activity"]),
        state=mapping["state"],
        outcome=mapping["outcome"],
    )


class Plan:
    """One run's plan for one source."""

    def __init__(self, engine: Engine, dag_id: str, run_id: str, source: str):
        self.engine = engine
        self.key = {"dag_id": dag_id, "run_id": run_id, "source": source}

    def add(self, conn: Connection, rows: Iterable[PlanRow]) -> int:
        """Insert rows not planned yet (a retried scan adds nothing twice)."""
        values = [
            {
                **self.key,
                "record_ref": r.record_ref,
                "subject_ref": r.subject_ref,
                "action": r.action,
                "categories": ",".join(r.categories),
                "rule": r.rule,
                "age_days": r.age_days,
                "last_activity": r.last_activity,
            }
            for r in rows
        ]
        if not values:
            return 0
        result = conn.execute(
            sa.text(
                "INSERT INTO ks_plan (dag_id, run_id, source, record_ref, subject_ref, action, "
                "categories, rule, age_days, last_activity) VALUES (:dag_id, :run_id, :source, "
                ":record_ref, :subject_ref, :action, :categories, :rule, :age_days, "
                ":last_activity) ON CONFLICT DO NOTHING"
            ),
            values,
        )
        record_state(conn, "ks_plan", self.key, [v["record_ref"] for v in values])
        return max(result.rowcount, 0)

    def counts(self) -> dict[tuple[str, str, str | None], int]:
        """(action, state, outcome) -> number of rows."""
        with connection(self.engine) as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT action, state, outcome, COUNT(*) FROM ks_plan WHERE dag_id = :dag_id "
                    "AND run_id = :run_id AND source = :source GROUP BY action, state, outcome"
                ),
                self.key,
            )
            return {(a, s, o): n for a, s, o, n in rows}

    def rows(
        self,
        states: Sequence[str],
        actions: Sequence[str],
        limit: int,
        outcomes: Sequence[str] | None = None,
    ) -> list[PlanRow]:
        """Up to `limit` rows in the given states and actions (and outcomes), in ref order."""
        params = {**self.key, "states": list(states), "actions": list(actions), "limit": limit}
        where = ""
        if outcomes is not None:
            where = "AND outcome IN :outcomes "
            params["outcomes"] = list(outcomes)
        query = sa.text(
            f"SELECT {_COLUMNS} FROM ks_plan WHERE dag_id = :dag_id AND run_id = :run_id "
            f"AND source = :source AND state IN :states AND action IN :actions {where}"
            "ORDER BY record_ref LIMIT :limit"
        ).bindparams(
            *(
                sa.bindparam(name, expanding=True)
                for name in ("states", "actions", "outcomes")
                if name in params
            )
        )
        with connection(self.engine) as conn:
            return [_row(m) for m in conn.execute(query, params).mappings()]

    def batches(
        self,
        states: Sequence[str],
        actions: Sequence[str],
        size: int,
        outcomes: Sequence[str] | None = None,
    ) -> Iterator[list[PlanRow]]:
        """Rows in batches. Each batch is re-read, so the caller must move every row it gets to
        another state (or the loop would see it again)."""
        while batch := self.rows(states, actions, size, outcomes):
            yield batch
            if len(batch) < size:
                return

    def mark(
        self, conn: Connection, refs: Sequence[str], state: str, outcome: str | None = None
    ) -> None:
        if not refs:
            return
        conn.execute(
            sa.text(
                "UPDATE ks_plan SET state = :state, outcome = COALESCE(:outcome, outcome) "
                "WHERE dag_id = :dag_id AND run_id = :run_id AND source = :source "
                "AND record_ref = :ref"
            ),
            [{**self.key, "state": state, "outcome": outcome, "ref": ref} for ref in refs],
        )
        record_state(conn, "ks_plan", self.key, refs)

    # ---- claims: one actor per source record at a time ---------------------------------------

    def claim(self, conn: Connection, refs: Sequence[str]) -> set[str]:
        """Claim refs for this run; returns those now ours. Stale claims (a dead run's) expire."""
        if not refs:
            return set()
        now = datetime.now(UTC)
        conn.execute(
            sa.text(
                "DELETE FROM ks_inflight WHERE source = :source AND claimed_at < :stale "
                "AND record_ref IN :refs"
            ).bindparams(sa.bindparam("refs", expanding=True)),
            {"source": self.key["source"], "stale": now - STALE_CLAIM, "refs": list(refs)},
        )
        conn.execute(
            sa.text(
                "INSERT INTO ks_inflight (source, record_ref, dag_id, run_id, claimed_at) "
                "VALUES (:source, :ref, :dag_id, :run_id, :now) ON CONFLICT DO NOTHING"
            ),
            [{**self.key, "ref": ref, "now": now} for ref in refs],
        )
        mine = conn.execute(
            sa.text(
                "SELECT record_ref FROM ks_inflight WHERE source = :source AND dag_id = :dag_id "
                "AND run_id = :run_id AND record_ref IN :refs"
            ).bindparams(sa.bindparam("refs", expanding=True)),
            {**self.key, "refs": list(refs)},
        )
        return {r[0] for r in mine}

    def release(self, conn: Connection, refs: Sequence[str]) -> None:
        if refs:
            conn.execute(
                sa.text(
                    "DELETE FROM ks_inflight WHERE source = :source AND dag_id = :dag_id "
                    "AND run_id = :run_id AND record_ref IN :refs"
                ).bindparams(sa.bindparam("refs", expanding=True)),
                {**self.key, "refs": list(refs)},
            )
