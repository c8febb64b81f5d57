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


def request_params(**extra) -> dict:
    """The trigger form of every data-subject request DAG: the reference of a registered
    request, nothing personal (the address is in the vault; see ks_privacy.registration). The form
    insists only that a reference is given; the `check` task does the rest, so every refusal
    of a started run is evidence."""
    from airflow.sdk import Param

    params = {
        "request_ref": Param(
            type="string",
            title="Request reference",
            description="The reference the request was registered with, e.g. REQ-2026-0042 "
            "(register it first: Browse > Privacy requests, or `python -m ks_privacy request "
            "register`). The person's address is never typed here.",
        ),
        "dry_run": Param(False, type="boolean", title="Dry run (change nothing)"),
    }
    return params | extra


def daily_dag_args(doc_md: str, tags: list[str], params: dict | None = None) -> dict:
    """The @dag arguments of the daily DAGs: one run at a time, no backlog of missed days (a
    catch-up of sweeps would race each other)."""
    import pendulum

    return {
        "schedule": "@daily",
        "start_date": pendulum.datetime(2026, 1, 1, tz="UTC"),
        "catchup": False,
        "max_active_runs": 1,
        "doc_md": doc_md,
        "default_args": DEFAULT_ARGS,
        "tags": ["privacy", *tags],
        "params": params or {},
    }


def request_dag_args(doc_md: str, params: dict, run_types=("manual",)) -> dict:
    """The @dag arguments every data-subject request DAG shares: run only when a person
    triggers it, with its trigger form."""
    import pendulum

    return {
        "schedule": None,
        "allowed_run_types": list(run_types),
        "start_date": pendulum.datetime(2026, 1, 1, tz="UTC"),
        "catchup": False,
        "doc_md": doc_md,
        "default_args": DEFAULT_ARGS,
        "tags": ["privacy", "request"],
        "params": params,
    }


def request_flow(kind: str, work):
    """check -> (the request's own work) -> finish, with `finish` the teardown of `check`:
    when `check` refuses, `finish` ends `upstream_failed` (the run fails, and only `check`
    carries the message); otherwise `finish` runs whatever happened in between, to close the
    request or leave it `failed`, and its own failure fails the run. Returns (check, finish)
    for DAGs that wire more between them; `work` may be None."""
    from airflow.sdk import task

    from ks_privacy.tasks import subject_requests

    check = task.short_circuit(
        subject_requests.check, task_id="check", retries=0, ignore_downstream_trigger_rules=False
    )(kind)
    finish = task(subject_requests.finish, task_id="finish", retries=0)(kind)
    finish.as_teardown(setups=check, on_failure_fail_dagrun=True)
    if work is not None:
        check >> work >> finish
    return check, finish


def pool_for(source: str) -> str:
    """One Airflow pool per vendor account: tasks share its rate limit instead of racing for it.
    Created by `include/init_deployment.py` (airflow-init in compose, and the distributed test)."""
    return f"ks_{source}"


def source_actions(name: str):
    """apply -> (worklist -> ask a person -> record their answer, where the source has no delete
    API) -> verify, for one source, inside the caller's task group. Returns (first, last)."""
    from airflow.providers.standard.operators.hitl import HITLOperator
    from airflow.sdk import task

    from ks_privacy.sources import ADAPTERS
    from ks_privacy.tasks import actions

    pool = pool_for(name)
    apply = task(actions.apply, task_id="apply", pool=pool)(name)
    verify = task(actions.verify, task_id="verify", pool=pool)(name)
    if not ADAPTERS[name].manual_erasure:
        apply >> verify
        return apply, verify
    worklist = task(actions.worklist, task_id="worklist")(name)
    needs_person = task.short_circuit(
        actions.has_worklist, task_id="needs_person", ignore_downstream_trigger_rules=False
    )(worklist)
    ask = HITLOperator(
        task_id="confirm_deleted",
        subject=f"{name}: delete the listed records by hand",
        body=(
            f"{name} has no delete API. Delete these records in its dashboard, then confirm."
            "\n\nRecord ids: {{ ti.xcom_pull(task_ids=task.task_group.group_id + '.worklist')"
            " | join(', ') }}"
        ),
        options=[actions.MANUAL_YES, "Not deleted"],
        response_timeout=timedelta(days=3),
    )
    confirmed = task(actions.confirm, task_id="record_confirmation")(name, worklist, ask.output)
    apply >> worklist >> needs_person >> ask >> confirmed >> verify
    return apply, verify
