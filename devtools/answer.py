"""Answer one waiting human-in-the-loop task from a shell, for runs started with
`airflow dags test` (no API server, nobody at the UI): the same handler the REST API's
`PATCH .../hitlDetails` calls, on the same metadata database (AIRFLOW_HOME / AIRFLOW__DATABASE__*).

    python -m devtools.answer --dag ks_request_erasure --run 'manual__2026-...' \\
        --task approve --option Approve --by 'Olga Ops'

A request run waiting for approval prints this line, with its run id filled in.
"""

from __future__ import annotations

import argparse
import sys


def answer(dag_id: str, run_id: str, task_id: str, option: str, by: str) -> str:
    """Answer the task if it waits; returns what happened, in words (a refusal included:
    someone not assigned to the task, e.g. the requester of an erasure, is refused)."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from fastapi import HTTPException
    from sqlalchemy import select

    from devtools.hitl import submit_answer

    with create_session() as session:
        ti = session.scalars(
            select(TaskInstance).where(
                TaskInstance.dag_id == dag_id,
                TaskInstance.run_id == run_id,
                TaskInstance.task_id == task_id,
            )
        ).first()
        if ti is None:
            return f"no task {task_id} in run {run_id} of {dag_id}"
        if str(ti.state) != "awaiting_input":
            return f"task {task_id} does not wait for an answer (state {ti.state})"
        map_index = ti.map_index
    try:
        submit_answer(dag_id, run_id, task_id, map_index, option, by)
    except HTTPException as exc:
        return f"refused ({exc.status_code}): {exc.detail}"
    return f"answered {task_id} of {dag_id} run {run_id}: {option} (by {by})"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.answer", description=__doc__)
    parser.add_argument("--dag", required=True)
    parser.add_argument("--run", required=True, help="the run id, as the task log prints it")
    parser.add_argument("--task", required=True, help="e.g. approve, tawk.confirm_deleted")
    parser.add_argument("--option", required=True, help="e.g. Approve or Reject")
    parser.add_argument("--by", required=True, help="who answers (a person, not a bot)")
    args = parser.parse_args(argv)
    said = answer(args.dag, args.run, args.task, args.option, args.by)
    print(said)
    return 0 if said.startswith("answered") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
