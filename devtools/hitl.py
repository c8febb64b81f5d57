"""Answer pending human-in-the-loop tasks through the same handler Airflow's REST API uses
(`PATCH .../hitlDetails`), for runs driven by `dag.test()` or `airflow dags test`, where nobody
sits at the UI. Each answer can do the person's work first (e.g. delete chats in the sandbox's
Tawk dashboard) before confirming it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Answer = tuple[str, Callable[[], None] | None]  # (option, what the person does before answering)


class _User:
    def __init__(self, name: str):
        self._name = name

    def get_id(self) -> str:
        return self._name.lower().replace(" ", ".")

    def get_name(self) -> str:
        return self._name


def answer_pending(dag_id: str, answers: dict[str, Answer], user_name: str) -> list[str]:
    """Answer every task of `dag_id` that awaits input and has an entry in `answers`."""
    from airflow.api_fastapi.core_api.datamodels.hitl import UpdateHITLDetailPayload
    from airflow.api_fastapi.core_api.routes.public.hitl import update_hitl_detail
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    answered = []
    with create_session() as session:
        pending = session.scalars(
            select(TaskInstance)
            .join(HITLDetail, HITLDetail.ti_id == TaskInstance.id)
            .where(
                TaskInstance.dag_id == dag_id,
                TaskInstance.state == "awaiting_input",
                HITLDetail.responded_at.is_(None),
            )
        ).all()
        for ti in pending:
            option, before = answers.get(ti.task_id, (None, None))
            if option is None:
                continue
            if before:
                before()
            update_hitl_detail(
                dag_id=ti.dag_id,
                dag_run_id=ti.run_id,
                task_id=ti.task_id,
                map_index=ti.map_index,
                update_hitl_detail_payload=UpdateHITLDetailPayload(chosen_options=[option]),
                user=_User(user_name),
                session=session,
            )
            answered.append(ti.task_id)
    return answered


@dataclass
class Responder:
    """A background thread that keeps answering until stopped; errors are kept, not lost."""

    dag_id: str
    answers: dict[str, Answer]
    user_name: str = "Olga Ops"
    answered: list[str] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Responder:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self.answered += answer_pending(self.dag_id, self.answers, self.user_name)
                time.sleep(0.3)
        except BaseException as exc:
            self.errors.append(exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)
