"""What every DAG file shares: default arguments, the policy at import time, pool names."""

from __future__ import annotations

import os
from datetime import timedelta

from ks_privacy import timeouts
from ks_privacy.notify.notifiers import RunFailed
from ks_privacy.policy import RetentionPolicy, load_policy
from ks_privacy.retrying import FailFastOnPermanentErrors

DEFAULT_ARGS = {
    "owner": "privacy-ops",
    # a vendor outage gets three more tries, 2, 4 and 8 minutes apart (Airflow adds up to the
    # same again as jitter); credentials, keys and configuration fail at once (retry_policy)
    "retries": 3,
    # KS_RETRY_DELAY_SECONDS shortens the wait between tries (the test suite sets 1 s)
    "retry_delay": timedelta(seconds=int(os.environ.get("KS_RETRY_DELAY_SECONDS", "120"))),
    "retry_exponential_backoff": 2.0,  # a multiplier in Airflow 3.3: True would mean 1.0, flat
    "max_retry_delay": timedelta(minutes=30),
    "retry_policy": FailFastOnPermanentErrors(),
    "execution_timeout": timeouts.DEFAULT,
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


def daily_dag_args(
    doc_md: str, tags: list[str], params: dict | None = None, schedule: str = "@daily"
) -> dict:
    """The @dag arguments of the scheduled DAGs: one run at a time, no backlog of missed days (a
    catch-up of sweeps would race each other), ops told when a run fails."""
    import pendulum

    return {
        "schedule": schedule,
        "start_date": pendulum.datetime(2026, 1, 1, tz="UTC"),
        "catchup": False,
        "max_active_runs": 1,
        "doc_md": doc_md,
        "default_args": DEFAULT_ARGS,
        "on_failure_callback": RunFailed(),
        "tags": ["privacy", *tags],
        "params": params or {},
    }


def request_dag_args(doc_md: str, params: dict, run_types=("manual",)) -> dict:
    """The @dag arguments every data-subject request DAG shares: run only when a person
    triggers it, with its trigger form; a run may not outlive the four-week promise
    (`dagrun_timeout`), and ops are told when it fails."""
    import pendulum

    return {
        "schedule": None,
        "allowed_run_types": list(run_types),
        "start_date": pendulum.datetime(2026, 1, 1, tz="UTC"),
        "catchup": False,
        "doc_md": doc_md,
        "default_args": DEFAULT_ARGS,
        "dagrun_timeout": timedelta(days=load_dag_policy().request_deadline_days),
        "on_failure_callback": RunFailed(),
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


def source_actions(name: str, policy: RetentionPolicy | None = None):
    """apply -> (worklist -> ask a person -> record their answer, where the source has no delete
    API) -> verify, for one source, inside the caller's task group. Returns (first, last).
    apply and verify get an execution_timeout sized from the run's plan (ks_privacy.timeouts);
    the person is one of the source's operators in `ks_people` (`<source>_operators`)."""
    from airflow.sdk import task

    from ks_privacy.operators import ManualStepOperator
    from ks_privacy.sources import ADAPTERS
    from ks_privacy.tasks import actions

    policy = policy or load_dag_policy()
    pool = pool_for(name)
    sized = timeouts.sized_to_plan(name)
    apply = task(actions.apply, task_id="apply", pool=pool, pre_execute=sized)(name)
    verify = task(actions.verify, task_id="verify", pool=pool, pre_execute=sized)(name)
    if not ADAPTERS[name].manual_erasure:
        apply >> verify
        return apply, verify
    worklist = task(actions.worklist, task_id="worklist")(name)
    needs_person = task.short_circuit(
        actions.has_worklist, task_id="needs_person", ignore_downstream_trigger_rules=False
    )(worklist)
    ask = ManualStepOperator(
        task_id="confirm_deleted",
        source=name,
        role=f"{name}_operators",
        worklist_task_id=worklist.operator.task_id,
        timeout_days=policy.human_steps.manual_confirmation_timeout_days,
        subject=f"{name}: delete the listed records by hand",
        body=(
            f"{name} has no delete API. Delete these records in its dashboard, then confirm."
            "\n\nRecord ids: {{ ti.xcom_pull(task_ids=task.task_group.group_id + '.worklist')"
            " | join(', ') }}"
        ),
        options=[actions.MANUAL_YES, "Not deleted"],
        retries=0,  # a retry would only wait again; a time-out is evidence and a message
    )
    confirmed = task(actions.confirm, task_id="record_confirmation")(name, worklist, ask.output)
    apply >> worklist >> needs_person >> ask >> confirmed >> verify
    return apply, verify
