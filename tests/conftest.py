"""Test set-up shared by every suite.

Airflow reads its configuration when first imported, so the environment is set here, at the top,
before anything imports airflow: a throw-away AIRFLOW_HOME with a SQLite metadata database, this
repository's dags/ and plugins/ folders, and no example DAGs.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="ks-test-airflow-"))
os.environ.update(
    {
        "AIRFLOW_HOME": str(_AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_AIRFLOW_HOME}/airflow.db",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(_AIRFLOW_HOME / "logs"),
        "KS_RETRY_DELAY_SECONDS": "1",
    }
)

pytest_plugins = [
    "tests.fixtures.postgres",
    "tests.fixtures.airflow",
    "tests.fixtures.sandbox",
    "tests.fixtures.dagrun",
    "tests.fixtures.evidence_keys",
    "tests.fixtures.mail",
    "tests.fixtures.imap",
    "tests.fixtures.webhook",
]


# Tiers: `scripts/test --fast` runs what needs no PostgreSQL, Redis or Chromium (the inner loop);
# CI runs everything. Every test that reaches PostgreSQL does so through `pg_admin`, so it is
# marked here; the Celery and browser tests carry their marks themselves.
def pytest_collection_modifyitems(config, items):
    import pytest

    for item in items:
        if "pg_admin" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.services)
