"""Every task has a time limit, request runs cannot outlive the four-week promise, and a sweep's
apply and verify get a limit sized from the run's plan and the source's pace."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ks_privacy import timeouts
from ks_privacy.dag_support import DEFAULT_ARGS
from ks_privacy.policy import load_policy
from ks_privacy.retrying import FailFastOnPermanentErrors
from tests.conftest import REPO
from tests.fixtures.sandbox import FAST, NOW


@pytest.fixture(scope="module")
def dags():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    return bag.dags


def test_every_task_has_a_time_limit_and_retries_that_fit(dags):
    for dag_id, dag in dags.items():
        for task in dag.tasks:
            where = f"{dag_id}.{task.task_id}"
            assert task.execution_timeout is not None, f"{where}: execution_timeout"
            assert task.execution_timeout <= timeouts.SCAN, where
            assert task.retry_exponential_backoff >= 2.0, f"{where}: a backoff that grows"
            assert isinstance(task.retry_policy, FailFastOnPermanentErrors), where
    scan = dags["ks_retention_daily"].task_dict["activecampaign.scan"]
    assert scan.execution_timeout == timeouts.SCAN
    assert DEFAULT_ARGS["max_retry_delay"] == timedelta(minutes=30)


def test_human_steps_wait_as_long_as_the_policy_says(tmp_path, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    from ks_privacy.resources import DEFAULT_POLICY

    policy = DEFAULT_POLICY.read_text()
    policy = policy.replace("approval_timeout_days: 7", "approval_timeout_days: 2.5")
    policy = policy.replace(
        "manual_confirmation_timeout_days: 3", "manual_confirmation_timeout_days: 1"
    )
    path = tmp_path / "policy.yaml"
    path.write_text(policy)
    monkeypatch.setenv("KS_POLICY_PATH", str(path))
    dags = DagBag(dag_folder=str(REPO / "dags")).dags
    approve = dags["ks_request_erasure"].task_dict["approve"]
    assert approve.response_timeout == timedelta(days=2.5)
    for dag_id in ("ks_request_erasure", "ks_retention_daily"):
        confirm = dags[dag_id].task_dict["tawk.confirm_deleted"]
        assert confirm.response_timeout == timedelta(days=1)


def test_request_runs_cannot_outlive_the_four_week_promise(dags):
    request_dags = [d for d in dags.values() if "request" in d.tags and not d.schedule]
    assert len(request_dags) == 4
    for dag in request_dags:
        assert dag.dagrun_timeout == timedelta(days=load_policy().request_deadline_days)
        assert dag.on_failure_callback, f"{dag.dag_id}: ops hear of a failed run"


def test_the_formula():
    assert timeouts.for_plan(0, 5) == timedelta(minutes=10)
    assert timeouts.for_plan(3000, 5) == timedelta(minutes=40)  # 10 min + 3 x 600 s
    assert timeouts.for_plan(600, 0) == timedelta(minutes=40)  # no pace: 1 request/s


def test_apply_and_verify_are_sized_from_the_plan_and_the_pace(vendors, run_dag, task_output):
    run = run_dag(
        "ks_retention_daily", NOW, {"sources": ["activecampaign"], "override_guard": True}
    )
    assert str(run.state) == "success"
    from tests.human.test_notifications import vendors_plan_size

    records = vendors_plan_size(vendors, run.run_id)
    assert records > 0
    limit = timeouts.for_plan(records, FAST)
    output = task_output()
    for task_id in ("activecampaign.apply", "activecampaign.verify"):
        assert (
            f"execution_timeout of {task_id}: {limit} ({records} records at {FAST} requests/s"
            in output
        )
