"""How long a task may run (`execution_timeout`), so a hung task cannot hold a vendor's
one-slot pool and block the erasures queued behind it.

- Every task: DEFAULT (30 min); a scan: SCAN (4 h: a full weekly scan of a million
  ActiveCampaign contacts at its 5 requests/s is about 50 min, bench/RESULTS.md).
- A sweep's apply and verify: sized from the plan and the pace when the task starts,

      timeout = SETUP + SAFETY x records / requests_per_second

  records: the run's planned erasures and redactions for the source (one call each at most:
  batching only makes it faster); requests_per_second: the source connection's extra (the pace
  the hook keeps), DEFAULT_PACE when unset; SAFETY 3 covers 429 waits and in-call retries.
"""

from __future__ import annotations

import logging
from datetime import timedelta

log = logging.getLogger("ks_privacy.timeouts")

DEFAULT = timedelta(minutes=30)
SCAN = timedelta(hours=4)
SETUP = timedelta(minutes=10)
SAFETY = 3
DEFAULT_PACE = 1.0  # requests per second: the slowest documented vendor default (Google)


def for_plan(records: int, per_second: float) -> timedelta:
    """SETUP + SAFETY x records / requests_per_second."""
    pace = per_second if per_second and per_second > 0 else DEFAULT_PACE
    return SETUP + timedelta(seconds=round(SAFETY * records / pace))


def sized_to_plan(source_name: str):
    """A `pre_execute` hook: sets the task's execution_timeout from its run's plan and the
    source's pace before Airflow starts the timer (it reads the timeout after pre_execute)."""

    def size(context) -> None:
        from airflow.sdk import BaseHook

        from ks_privacy import runtime
        from ks_privacy.plans import Plan

        task, ti = context["task"], context["ti"]
        engine = runtime.audit_trail().engine
        counts = Plan(engine, ti.dag_id, ti.run_id, source_name).counts()
        records = sum(n for (action, _, _), n in counts.items() if action in ("erase", "redact"))
        conn_id = runtime.policy().sources[source_name].connection
        pace = BaseHook.get_connection(conn_id).extra_dejson.get("requests_per_second")
        task.execution_timeout = for_plan(records, float(pace or DEFAULT_PACE))
        log.info(
            "execution_timeout of %s: %s (%d records at %s requests/s; %s + %d x records / pace)",
            ti.task_id,
            task.execution_timeout,
            records,
            pace or f"{DEFAULT_PACE:g} (default)",
            SETUP,
            SAFETY,
        )

    return size
