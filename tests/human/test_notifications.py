"""People are told, end to end: real DAG runs, Airflow's SMTP notifier delivering to a real SMTP
server and its Slack-webhook notifier posting to a real HTTP server; each delivered message is
read back for its recipients, subject and link, and searched for every seeded personal value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import sqlalchemy as sa

from ks_privacy.evidence import AuditTrail, Evidence, RunContext
from ks_privacy.register import Register
from tests.fixtures.dagrun import task_states
from tests.fixtures.people import emails
from tests.fixtures.pii import found_in, seeded_values
from tests.fixtures.sandbox import NOW
from tests.human.conftest import BASE_URL
from tests.human.erasure import APPROVE, erasure_conf, person_everywhere


def required_actions(dag_id: str, run_id: str, task_id: str) -> str:
    return f"{BASE_URL}/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/required_actions"


def by_subject(mails, text: str):
    found = [m for m in mails if text in m.subject]
    assert len(found) == 1, [m.subject for m in mails]
    return found[0]


def test_waiting_approval_and_tawk_confirmation_each_send_one_email(vendors, run_dag, told):
    person = person_everywhere(vendors)
    run = run_dag(
        "ks_request_erasure",
        NOW,
        erasure_conf(vendors, person["email"], "REQ-2026-0101"),
        answers={**APPROVE, **vendors.tawk_answer()},
    )
    assert str(run.state) == "success", task_states(run)
    mails = told.mail.wait_for(2)
    assert len(mails) == 2, [m.subject for m in mails]

    approval = by_subject(mails, "Approval waits: erasure REQ-2026-0101")
    # the assigned approvers of this run: Vera verified the identity, so she is not asked
    assert sorted(approval.rcpt_tos) == emails("olga.ops", "anna.approver", "rita.requester")
    assert required_actions("ks_request_erasure", run.run_id, "approve") in approval.body
    assert "activecampaign: 1 to erase, 0 on legal hold" in approval.body

    tawk = by_subject(mails, f"tawk: {len(person['chats'])} records to delete by hand")
    assert list(tawk.rcpt_tos) == emails("olga.ops")
    assert required_actions("ks_request_erasure", run.run_id, "tawk.confirm_deleted") in tawk.body

    chats = told.chat.wait_for(2)
    assert any(
        "Approval waits" in text and "/tasks/approve/required_actions" in text for text in chats
    )
    assert any("/tasks/tawk.confirm_deleted/required_actions" in text for text in chats)

    values = seeded_values(vendors)
    assert person["email"] in values
    delivered = "\n".join([m.raw for m in mails] + chats)
    assert found_in(delivered, values) == []


def test_tripped_guard_and_failed_sweep_tell_ops_and_the_guard_reviewers(vendors, run_dag, told):
    """The seed's first plan is far above the guard's caps: the sweep stops before deleting."""
    run = run_dag("ks_retention_daily", NOW, {"sources": ["activecampaign"]})
    assert str(run.state) == "failed"
    assert task_states(run)["activecampaign.guard"] == "failed"
    mails = told.mail.wait_for(2)
    failed = by_subject(mails, "Run failed: ks_retention_daily")
    assert list(failed.rcpt_tos) == emails("olga.ops")
    assert "Last failed task: report" in failed.body  # all of them where a dag-processor asks
    assert f"{BASE_URL}/dags/ks_retention_daily/runs/{quote(run.run_id, safe='')}" in failed.body
    review = by_subject(mails, "Guard review waits: activecampaign")
    assert list(review.rcpt_tos) == emails("olga.ops")  # guard reviewers default to ops
    planned = vendors_plan_size(vendors, run.run_id)
    total = vendors.sql("SELECT count(*) FROM ac_contacts")[0][0]
    assert f"activecampaign: plan acts on {planned} of {total} records" in review.body
    assert found_in("\n".join(m.raw for m in mails), seeded_values(vendors)) == []


def vendors_plan_size(vendors, run_id: str) -> int:
    engine = sa.create_engine(vendors.audit_url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.text(
                    "SELECT count(*) FROM ks_plan WHERE run_id = :r AND source = 'activecampaign' "
                    "AND action IN ('erase', 'redact')"
                ),
                {"r": run_id},
            ).scalar()
    finally:
        engine.dispose()


def use_audit_db(engine, monkeypatch) -> None:
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    monkeypatch.setenv("AIRFLOW_CONN_KS_AUDIT_DB", url)


def test_deadline_notices_name_requests_seven_days_out_and_overdue(
    audit_engine, run_dag, told, monkeypatch
):
    use_audit_db(audit_engine, monkeypatch)
    trail = AuditTrail(audit_engine, RunContext("test", "seed", "seed"))
    register = Register(trail)
    today = NOW.date()
    for ref, received_days_ago in (
        ("REQ-2026-0201", 21),  # due in 7 days: told
        ("REQ-2026-0202", 30),  # overdue by 2 days: told
        ("REQ-2026-0203", 18),  # due in 10 days: not yet
        ("REQ-2026-0204", 35),  # overdue, but closed: not told
    ):
        register.register(
            ref, "access", f"ps_{ref}", today - timedelta(days=received_days_ago), "Vera"
        )
    register.set_status("REQ-2026-0204", "completed")

    run = run_dag("ks_requests_deadline", NOW)
    assert task_states(run)["notify_deadlines"] == "success"
    mails = told.mail.wait_for(2)  # the notice, and the failed run (an open request is overdue)
    notice = by_subject(mails, "Request deadlines: 1 overdue, 1 due in 7 days")
    assert sorted(notice.rcpt_tos) == emails("olga.ops", "pia.privacy")
    assert "REQ-2026-0201: due 2026-12-02, 7 days left" in notice.body
    assert "REQ-2026-0202: due 2026-11-23, OVERDUE by 2 days" in notice.body
    assert "REQ-2026-0203" not in notice.body and "REQ-2026-0204" not in notice.body
    assert by_subject(mails, "Run failed: ks_requests_deadline").rcpt_tos == tuple(
        emails("olga.ops")
    )


def test_weekly_digest_to_the_privacy_officer(audit_engine, run_dag, told, monkeypatch):
    use_audit_db(audit_engine, monkeypatch)
    trail = AuditTrail(audit_engine, RunContext("ks_retention_daily", "seed", "apply"))
    trail.append(
        [Evidence("erase.outcome", "erased", "activecampaign", str(i)) for i in (1, 2, 3)]
        + [Evidence("erase.outcome", "failed", "activecampaign", "4")]
        + [Evidence("redact.outcome", "redacted", "activecampaign", str(i)) for i in (5, 6)]
        + [Evidence("hold", "held", "google_contacts", "people/c7") for _ in range(3)]
        + [Evidence("manual.confirmed", "erased", "tawk", "chat-8")]
    )
    register = Register(trail)
    register.register("REQ-2026-0301", "erasure", "ps_a", NOW.date() - timedelta(days=40), "Vera")
    register.register("REQ-2026-0302", "access", "ps_b", NOW.date(), "Vera")
    register.set_status("REQ-2026-0302", "completed")
    chain = AuditTrail(audit_engine).verify()

    when = datetime.now(UTC) + timedelta(minutes=1)  # evidence is stamped with the real time
    run = run_dag("ks_privacy_digest", when)
    assert str(run.state) == "success", task_states(run)
    (digest,) = told.mail.wait_for(1)
    assert list(digest.rcpt_tos) == emails("pia.privacy")
    assert "Weekly privacy digest" in digest.subject
    assert "activecampaign: 3 erased, 2 redacted, 0 held" in digest.body
    assert "google_contacts: 0 erased, 0 redacted, 1 held" in digest.body
    assert "tawk: 1 erased, 0 redacted, 0 held" in digest.body
    assert "Requests: 1 open, 1 closed this week, 1 late." in digest.body
    assert f"head #{chain.head_seq} {chain.head_hash}" in digest.body
    assert f"{BASE_URL}/dags/ks_privacy_digest/runs/" in digest.body
    (chat,) = told.chat.wait_for(1)
    assert "tawk: 1 erased" in chat
