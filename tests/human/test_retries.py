"""Retries that fit the failure: a refused API token fails the task on its first try with the
vendor's message; a storm of 429s keeps Airflow retrying, each wait longer than the last
(`retry_exponential_backoff` 2.0 on the suite's 1 s test delay: at least 1, 2 and 4 s)."""

from __future__ import annotations

import json
from itertools import pairwise

from tests.fixtures.dagrun import task_states
from tests.fixtures.sandbox import NOW

ONLY_AC = {"sources": ["activecampaign"], "override_guard": True}


def tries(run, task_id: str) -> list:
    """Every try of a task in the run, oldest first: Airflow's history rows plus the last."""
    from airflow.models.taskinstancehistory import TaskInstanceHistory
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        history = session.scalars(
            select(TaskInstanceHistory)
            .where(
                TaskInstanceHistory.dag_id == run.dag_id,
                TaskInstanceHistory.run_id == run.run_id,
                TaskInstanceHistory.task_id == task_id,
            )
            .order_by(TaskInstanceHistory.try_number)
        ).all()
        session.expunge_all()
    return [*history, run.get_task_instance(task_id)]


def ac_connection(vendors, **changes) -> str:
    spec = vendors.sandbox.airflow_connections({"requests_per_second": 200, "timeout": 10})
    conn = spec["activecampaign_default"]
    conn.update({k: v for k, v in changes.items() if k != "extra"})
    conn["extra"] = {**conn.get("extra", {}), **changes.get("extra", {})}
    return json.dumps(conn)


def test_a_bad_api_token_fails_at_once_with_the_vendors_message(
    vendors, run_dag, monkeypatch, task_output
):
    bad = ac_connection(vendors, password="not-the-token")
    monkeypatch.setenv("AIRFLOW_CONN_ACTIVECAMPAIGN_DEFAULT", bad)
    before = len(vendors.requests_made("activecampaign"))
    run = run_dag("ks_retention_daily", NOW, ONLY_AC)
    assert str(run.state) == "failed"
    assert task_states(run)["activecampaign.scan"] == "failed"
    (only,) = tries(run, "activecampaign.scan")  # no second try
    assert only.try_number == 1
    output = task_output()
    # ActiveCampaign's own answer (403, {"message": "Forbidden"}), as the hook reports it
    assert "failed with HTTP 403: credentials refused (Forbidden)" in output
    assert "the vendor refused the credentials: not retried" in output
    assert len(vendors.requests_made("activecampaign")) - before == 1  # one call, no retries


def test_a_429_storm_keeps_retrying_with_growing_delays(vendors, run_dag, monkeypatch, task_output):
    # the hook gives up after 2 attempts within 3 s, so each Airflow try fails quickly
    quick = ac_connection(vendors, extra={"retry_attempts": 2, "retry_max_seconds": 3})
    monkeypatch.setenv("AIRFLOW_CONN_ACTIVECAMPAIGN_DEFAULT", quick)
    vendors.control("activecampaign", "faults", {"rate": 1.0, "kinds": ["429"], "seed": 1})
    run = run_dag("ks_retention_daily", NOW, ONLY_AC)
    assert str(run.state) == "failed"
    attempts = tries(run, "activecampaign.scan")
    assert [t.try_number for t in attempts] == [1, 2, 3, 4]  # retries: 3
    assert all(str(t.state) in ("failed", "up_for_retry") for t in attempts)
    waits = [
        (later.start_date - earlier.end_date).total_seconds()
        for earlier, later in pairwise(attempts)
    ]
    # delay n is between base * 2^(n-1) and twice that (Airflow's jitter): 1, 2, 4 s at least
    assert waits[0] >= 1 and waits[1] >= 2 and waits[2] >= 4, waits
    assert waits[2] > waits[0] + 1, waits  # a flat backoff would wait about 1 s each time
    output = task_output()
    assert output.count("ActiveCampaign find tag failed with HTTP 429") >= 4  # once per try
    assert "not retried" not in output
