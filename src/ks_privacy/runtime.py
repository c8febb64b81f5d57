"""What a task needs from Airflow, in one place: the policy, the audit trail, the pseudonymiser
and the run's reference time. Everything is read inside the task, never at DAG import."""

from __future__ import annotations

import functools
from datetime import datetime

from ks_privacy.audit_db import engine_for_connection, ensure_schema
from ks_privacy.evidence import AuditTrail, RunContext
from ks_privacy.policy import RetentionPolicy, load_policy
from ks_privacy.timeutil import to_utc

_migrated: set[str] = set()


@functools.cache
def policy() -> RetentionPolicy:
    return load_policy()


def audit_trail() -> AuditTrail:
    """The audit trail on connection `ks_audit_db`, bound to the running task. The schema must
    be current (SQLite is migrated here; PostgreSQL by the deployment's init, as its owner)."""
    engine = engine_for_connection()
    key = str(engine.url)
    if key not in _migrated:
        ensure_schema(engine)
        _migrated.add(key)
    return AuditTrail(engine, RunContext.from_airflow())


def reference_time(context) -> datetime:
    """The 'now' a run decides against: the end of its data interval (for Airflow 3's @daily,
    the run's logical date), so a rerun of the same run decides exactly the same way."""
    for key in ("data_interval_end", "logical_date"):
        value = context.get(key)
        if value is not None:
            return to_utc(value)
    return to_utc(context["dag_run"].run_after)


def failed_tasks(context) -> list[str]:
    """Tasks of the running DAG run that failed (or could not run because an upstream failed):
    a closing task must not call a run complete when part of it did not happen."""
    ti = context["ti"]
    states = ti.get_task_states(dag_id=ti.dag_id, run_ids=[ti.run_id]).get(ti.run_id, {})
    return sorted(t for t, s in states.items() if str(s) in ("failed", "upstream_failed"))
