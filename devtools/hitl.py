"""Answer pending human-in-the-loop tasks through the same handler Airflow's REST API uses
(`PATCH .../hitlDetails`), as a given user, for runs driven by `dag.test()` or `airflow dags
test`, where nobody sits at the UI. Each answer can do the person's work first (e.g. delete chats
in the sandbox's Tawk dashboard) before confirming it.

The handler applies Airflow's own checks, `assigned_users` included: an answer from someone
not assigned is refused with a 403 and Airflow's message, kept in `Refusal`s.

    answers = {
        "tawk.confirm_deleted": ("All listed chats are deleted", delete_chats),  # any time asked
        "approve": [("Approve", None, "Rita Requester"), ("Approve", None, "Anna Approver")],
    }   # a list: tried in order, each once (a refused one is recorded, then the next is tried)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# (option, what the person does before answering[, who answers: a name or user id])
Answer = tuple[str, Callable[[], None] | None] | tuple[str, Callable[[], None] | None, str]


@dataclass(frozen=True)
class Refusal:
    task_id: str
    user: str
    status: int
    detail: str


class _User:
    """The signed-in user, as the auth manager hands it to the handler: id `anna.approver`
    for "Anna Approver" (a name without spaces is taken as the id itself)."""

    def __init__(self, name: str):
        self._name = name

    def get_id(self) -> str:
        return self._name.lower().replace(" ", ".")

    def get_name(self) -> str:
        return self._name


def _next_answer(value, default_user: str) -> tuple[str, Callable | None, str]:
    answer = value[0] if isinstance(value, list) else value
    option, before, *user = answer
    return option, before, (user[0] if user else default_user)


def submit_answer(
    dag_id: str, run_id: str, task_id: str, map_index: int, option: str, user: str
) -> None:
    """One answer, in one transaction, as one `PATCH .../hitlDetails` request from `user`;
    Airflow's own checks apply (a 403 `HTTPException` for someone not assigned)."""
    from airflow.api_fastapi.app import create_auth_manager
    from airflow.api_fastapi.core_api.datamodels.hitl import UpdateHITLDetailPayload
    from airflow.api_fastapi.core_api.routes.public.hitl import update_hitl_detail
    from airflow.utils.session import create_session

    create_auth_manager()  # what the api-server does at start: the handler asks it who may answer
    with create_session() as session:
        update_hitl_detail(
            dag_id=dag_id,
            dag_run_id=run_id,
            task_id=task_id,
            map_index=map_index,
            update_hitl_detail_payload=UpdateHITLDetailPayload(chosen_options=[option]),
            user=_User(user),
            session=session,
        )


def answer_pending(
    dag_id: str,
    answers: dict[str, Answer | list[Answer]],
    user_name: str,
    refused: list[Refusal] | None = None,
) -> list[str]:
    """Answer every task of `dag_id` that awaits input and has an entry in `answers`. Entries
    given as lists are used up in order; a 403 is recorded in `refused` (or raised without it)."""
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from fastapi import HTTPException
    from sqlalchemy import select

    with create_session() as session:
        pending = session.execute(
            select(
                TaskInstance.dag_id,
                TaskInstance.run_id,
                TaskInstance.task_id,
                TaskInstance.map_index,
            )
            .join(HITLDetail, HITLDetail.ti_id == TaskInstance.id)
            .where(
                TaskInstance.dag_id == dag_id,
                TaskInstance.state == "awaiting_input",
                HITLDetail.responded_at.is_(None),
            )
        ).all()
    answered = []
    for ti_dag, run_id, task_id, map_index in pending:
        value = answers.get(task_id)
        if not value:
            continue
        option, before, user = _next_answer(value, user_name)
        if isinstance(value, list):
            value.pop(0)
        if before:
            before()
        try:
            submit_answer(ti_dag, run_id, task_id, map_index, option, user)
        except HTTPException as exc:
            if refused is None or exc.status_code != 403:
                raise
            refused.append(Refusal(task_id, user, exc.status_code, str(exc.detail)))
            continue
        answered.append(task_id)
    return answered


@dataclass
class Responder:
    """A background thread that keeps answering until stopped; errors are kept, not lost."""

    dag_id: str
    answers: dict[str, Answer | list[Answer]]
    user_name: str = "Olga Ops"
    answered: list[str] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Responder:
        # lists are used up: work on copies, so one `answers` can serve several runs
        self.answers = {k: list(v) if isinstance(v, list) else v for k, v in self.answers.items()}
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self.answered += answer_pending(
                    self.dag_id, self.answers, self.user_name, self.refused
                )
                time.sleep(0.3)
        except BaseException as exc:
            self.errors.append(exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)
