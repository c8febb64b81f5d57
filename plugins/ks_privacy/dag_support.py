"""What every DAG file shares: default arguments, the policy at import time, pool names."""

from __future__ import annotations

import os
from datetime import timedelta

from ks_privacy.policy import RetentionPolicy, load_policy

DEFAULT_ARGS = {
    "owner": "privacy-ops",
    "retries": 2,
    # KS_RETRY_DELAY_SECONDS shortens the wait between tries (the test suite sets 1 s)
    "retry_delay": timedelta(seconds=int(os.environ.get("KS_RETRY_DELAY_SECONDS", "120"))),
    "retry_exponential_backoff": True,
}


def load_dag_policy() -> RetentionPolicy:
    """The policy, read when the DAG file is parsed: a broken file is an import error naming
    the key, the line and the problem (the only IO a DAG file does at import)."""
    return load_policy()


def pool_for(source: str) -> str:
    """One Airflow pool per vendor account: tasks share its rate limit instead of racing for it.
    Created by `scripts/setup-airflow` (and airflow-init in compose)."""
    return f"ks_{source}"
