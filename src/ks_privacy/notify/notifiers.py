"""The notifiers the DAGs use (Airflow BaseNotifier subclasses, so they go where Airflow takes a
notifier: a HITL operator's `notifiers=`, a DAG's `on_failure_callback`), and the links they send.

They pick the message and the recipients; `messages` words it, `channels` delivers it.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from airflow.sdk.bases.notifier import BaseNotifier

from ks_privacy.notify import messages
from ks_privacy.notify.channels import deliver
from ks_privacy.notify.people import load_people

log = logging.getLogger("ks_privacy.notify")
DEFAULT_BASE_URL = "http://localhost:8080"


def base_url() -> str:
    """The Airflow UI's address people open: `[api] base_url` (AIRFLOW__API__BASE_URL)."""
    from airflow.configuration import conf

    return (conf.get("api", "base_url", fallback=None) or DEFAULT_BASE_URL).rstrip("/")


def run_link(dag_id: str, run_id: str) -> str:
    return f"{base_url()}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


def required_actions_link(context) -> str:
    """The page where the waiting step is answered (Airflow's own link builder)."""
    from airflow.providers.standard.operators.hitl import HITLOperator

    return HITLOperator.generate_link_to_ui_from_context(context=context, base_url=base_url())


class _PlainNotifier(BaseNotifier):
    """Our messages are built in Python from counts, not Jinja templates: nothing to render
    (and under `dag.test()` a DAG callback's `dag` is a SerializedDAG, which cannot render)."""

    def render_template_fields(self, context, jinja_env=None) -> None:
        return None


class HumanStepWaiting(_PlainNotifier):
    """For a human step's `notifiers=`: tells the people assigned to this step (computed for this
    run when it started waiting) and the chat channel, with the link to its Required actions.
    The step words the message (`waiting_message(context, link)`): it knows its own counts."""

    def notify(self, context) -> None:
        task = context["task"]
        people = load_people()
        assigned = {user["id"] for user in task.assigned_users or []}
        recipients = [person for uid, person in people.people.items() if uid in assigned]
        deliver(task.waiting_message(context, required_actions_link(context)), people, recipients)


class RunFailed(_PlainNotifier):
    """A DAG's `on_failure_callback`: ops hear that a run failed (which tasks, the link); when a
    sweep's guard tripped, the guard reviewers hear that a review waits. Runs where Airflow runs
    DAG callbacks (the dag-processor), so it reads only the audit database and variables."""

    def notify(self, context) -> None:
        people = load_people(required=False)
        if people is None:
            log.warning("a run failed and Airflow variable ks_people is not set: nobody was told")
            return
        dag_id, run_id = context["dag"].dag_id, context["run_id"]
        link = run_link(dag_id, run_id)
        reason = str(context.get("reason") or "task_failure")
        tasks, complete = failed_task_ids(context)
        failed = messages.run_failed(dag_id, run_id, tasks, complete, reason, link)
        deliver(failed, people, [p for _, p in people.members("ops")])
        tripped = guard_trips(dag_id, run_id)
        if tripped:
            review = messages.guard_review(dag_id, run_id, tripped, link)
            deliver(review, people, [p for _, p in people.members("guard_reviewers")])


def failed_task_ids(context) -> tuple[list[str], bool]:
    """(the run's failed tasks, True) as the task SDK reports them to the dag-processor; where
    nobody can be asked (`dag.test()` runs callbacks in its own process), (the task Airflow
    named as the cause, False)."""
    ti = context.get("ti")
    if ti is None:
        return [], False
    try:
        states = ti.get_task_states(dag_id=ti.dag_id, run_ids=[ti.run_id]).get(ti.run_id, {})
    except Exception as exc:  # no supervisor to ask: name the task Airflow handed us
        log.info("task states unavailable in this callback (%s)", type(exc).__name__)
        return [ti.task_id], False
    return sorted(task_id for task_id, state in states.items() if str(state) == "failed"), True


def guard_trips(dag_id: str, run_id: str) -> dict[str, dict[str, int]]:
    """Sources whose guard stopped this run, with the plan's size (from the evidence)."""
    import json

    from ks_privacy.audit_db import engine_for_connection
    from ks_privacy.evidence import AuditTrail

    rows = AuditTrail(engine_for_connection()).rows(
        "WHERE dag_id = :dag AND run_id = :run AND event = 'guard.tripped' AND outcome = 'stopped'",
        {"dag": dag_id, "run": run_id},
    )
    tripped = {}
    for row in rows:
        details = json.loads(row["details"] or "{}")
        tripped[row["source"]] = {
            "planned": int(details.get("planned", 0)),
            "total": int(details.get("total", 0)),
        }
    return tripped
