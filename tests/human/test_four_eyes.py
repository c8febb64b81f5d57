"""The right people answer: an erasure's approval is assigned, per run, to the approvers of
`ks_people` other than the person who triggered it and the one who verified the identity.
Airflow's HITL API refuses anyone else (403, its message); where an auth manager lets everyone
answer, the operator refuses and asks again. A step nobody answers ends as `timed_out` evidence.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from types import SimpleNamespace

import sqlalchemy as sa

from tests.fixtures.dagrun import task_states
from tests.fixtures.people import emails
from tests.fixtures.sandbox import NOW
from tests.human.erasure import erasure_conf, holdings, person_everywhere, register_row


def evidence(vendors, event: str) -> list[dict]:
    engine = sa.create_engine(vendors.audit_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT * FROM ks_evidence WHERE event = :e ORDER BY seq"), {"e": event}
            ).mappings()
            return [{**row, "details": json.loads(row["details"])} for row in rows]
    finally:
        engine.dispose()


def assigned_users(run, task_id: str) -> list[str]:
    from airflow.models.hitl import HITLDetail
    from airflow.utils.session import create_session

    ti = run.get_task_instance(task_id)
    with create_session() as session:
        detail = session.get(HITLDetail, ti.id)
        return sorted(user["id"] for user in detail.assigned_users)


def test_the_requester_cannot_approve_their_own_erasure(vendors, run_dag, triggered_by, told):
    person = person_everywhere(vendors)
    before = holdings(vendors, person)
    seen_at_refusal = {}
    triggered_by("rita.requester")
    run = run_dag(
        "ks_request_erasure",
        NOW,
        erasure_conf(vendors, person["email"], "REQ-2026-0501"),
        answers={
            "approve": [
                ("Approve", None, "Rita Requester"),  # triggered it: refused by Airflow
                ("Approve", None, "Vera Verifier"),  # verified the identity: refused
                (
                    "Approve",
                    lambda: seen_at_refusal.update(holdings(vendors, person)),
                    "Anna Approver",
                ),
            ],
            **vendors.tawk_answer(),
        },
    )
    assert str(run.state) == "success", task_states(run)
    refusals = {(r.user, r.status, r.detail) for r in run.refused}
    assert refusals == {
        (
            "Rita Requester",
            403,
            "User=Rita Requester (id=rita.requester) is not a respondent for the task.",
        ),
        (
            "Vera Verifier",
            403,
            "User=Vera Verifier (id=vera.verifier) is not a respondent for the task.",
        ),
    }
    assert seen_at_refusal == before  # after both refusals, before Anna's answer: nothing erased
    assert assigned_users(run, "approve") == ["anna.approver", "olga.ops"]

    (decided,) = evidence(vendors, "approval.decided")
    assert decided["outcome"] == "approved" and decided["record_ref"] == "REQ-2026-0501"
    assert decided["details"] == {
        "requested_by": "rita.requester",
        "verified_by": "Vera Verifier",
        "decided_by": "Anna Approver",
    }
    assert holdings(vendors, person) == {"activecampaign": 0, "google": 0, "tawk": 0, "website": 0}
    # the approval e-mail went to the assigned approvers only
    (approval,) = [m for m in told.mail.received() if "Approval waits" in m.subject]
    assert sorted(approval.rcpt_tos) == emails("anna.approver", "olga.ops")


def test_four_eyes_hold_where_the_auth_manager_lets_everyone_answer(
    vendors, run_dag, triggered_by, monkeypatch
):
    """SimpleAuthManager's all-admins mode skips `assigned_users`: the operator still refuses
    the requester's answer, records it, and asks again; nothing is erased meanwhile."""
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
    person = person_everywhere(vendors)
    before = holdings(vendors, person)
    seen = {}
    triggered_by("rita.requester")
    run = run_dag(
        "ks_request_erasure",
        NOW,
        erasure_conf(vendors, person["email"], "REQ-2026-0502"),
        answers={
            "approve": [
                ("Approve", None, "Rita Requester"),
                ("Reject", lambda: seen.update(holdings(vendors, person)), "Anna Approver"),
            ]
        },
    )
    assert str(run.state) == "success", task_states(run)
    assert run.refused == []  # Airflow let Rita answer: the operator refused her
    (refused,) = evidence(vendors, "approval.refused")
    assert refused["details"] == {
        "requested_by": "rita.requester",
        "verified_by": "Vera Verifier",
        "answered_by": "Rita Requester",
        "reason": "four eyes",
    }
    assert seen == before and holdings(vendors, person) == before
    (decided,) = evidence(vendors, "approval.decided")
    assert decided["outcome"] == "rejected" and decided["details"]["decided_by"] == "Anna Approver"
    assert register_row(vendors, "REQ-2026-0502")["status"] == "rejected"


def let_the_response_time_pass(dag_id: str, task_id: str, stop: threading.Event) -> None:
    """What days of nobody answering amount to: the step's deadline moves into the past, then
    the scheduler's own awaiting-input sweep (Airflow's code) resolves it as it would."""
    from datetime import UTC, datetime, timedelta

    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner  # imported before: see below
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    while not stop.is_set():
        with create_session() as session:
            ti = session.scalars(
                select(TaskInstance).where(
                    TaskInstance.dag_id == dag_id,
                    TaskInstance.task_id == task_id,
                    TaskInstance.state == "awaiting_input",
                )
            ).first()
            if ti is not None:
                assert ti.trigger_timeout is not None  # the step's response_timeout is set
                ti.trigger_timeout = datetime.now(UTC) - timedelta(seconds=1)
        if ti is not None:
            # the method uses nothing of the scheduler job but its logger
            scheduler = SimpleNamespace(log=logging.getLogger("scheduler"))
            SchedulerJobRunner.check_awaiting_input_timeouts(scheduler)
            return
        time.sleep(0.3)


def test_a_timed_out_approval_leaves_timed_out_evidence_and_tells_people(vendors, run_dag, told):
    import airflow.jobs.scheduler_job_runner  # noqa: F401  (importing it in a thread while the
    # run imports Airflow's models in this one deadlocks on the import lock)

    person = person_everywhere(vendors)
    before = holdings(vendors, person)
    stop = threading.Event()
    clock = threading.Thread(
        target=let_the_response_time_pass, args=("ks_request_erasure", "approve", stop)
    )
    clock.start()
    try:
        conf = erasure_conf(vendors, person["email"], "REQ-2026-0503")
        run = run_dag("ks_request_erasure", NOW, conf)
    finally:
        stop.set()
        clock.join(10)
    assert str(run.state) == "failed"
    states = task_states(run)
    assert states["approve"] == "failed" and states["activecampaign.apply"] == "upstream_failed"
    (timed_out,) = evidence(vendors, "approval.timed_out")
    assert timed_out["outcome"] == "timed_out" and timed_out["record_ref"] == "REQ-2026-0503"
    assert timed_out["details"] == {"waited_days": 7.0}
    assert evidence(vendors, "approval.decided") == []
    assert holdings(vendors, person) == before
    mails = told.mail.wait_for(3)  # waiting, timed out, run failed
    (notice,) = [m for m in mails if "Timed out" in m.subject]
    assert "REQ-2026-0503" in notice.subject
    # the approvers assigned to the step, and ops
    assert sorted(notice.rcpt_tos) == emails("olga.ops", "anna.approver", "rita.requester")


def worklist_size(vendors) -> int:
    engine = sa.create_engine(vendors.audit_url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.text("SELECT count(*) FROM ks_plan WHERE source = 'tawk' AND state = 'manual'")
            ).scalar()
    finally:
        engine.dispose()


def test_a_timed_out_tawk_confirmation_leaves_timed_out_evidence(vendors, run_dag, told):
    import airflow.jobs.scheduler_job_runner  # noqa: F401  (see the approval's time-out test)

    chats_before = vendors.sql("SELECT count(*) FROM tawk_chats")[0][0]
    stop = threading.Event()
    clock = threading.Thread(
        target=let_the_response_time_pass,
        args=("ks_retention_daily", "tawk.confirm_deleted", stop),
    )
    clock.start()
    try:
        run = run_dag("ks_retention_daily", NOW, {"sources": ["tawk"], "override_guard": True})
    finally:
        stop.set()
        clock.join(10)
    assert str(run.state) == "failed"
    assert task_states(run)["tawk.confirm_deleted"] == "failed"
    (timed_out,) = evidence(vendors, "manual.timed_out")
    assert timed_out["outcome"] == "timed_out" and timed_out["source"] == "tawk"
    assert timed_out["details"] == {"records": worklist_size(vendors), "waited_days": 3.0}
    assert evidence(vendors, "manual.confirmed") == []
    assert vendors.sql("SELECT count(*) FROM tawk_chats")[0][0] == chats_before
    mails = told.mail.wait_for(3)  # waiting, timed out, run failed
    (notice,) = [m for m in mails if "Timed out" in m.subject]
    assert "confirmation of the tawk deletions" in notice.subject
    assert list(notice.rcpt_tos) == emails("olga.ops")  # the Tawk operator, who is also ops
