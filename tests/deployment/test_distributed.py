"""The suite on Airflow's distributed executor, for real: api-server, scheduler, dag-processor,
triggerer and a Celery worker as separate processes (CeleryExecutor, PostgreSQL metadata, Redis
broker), the sandbox emulators as the vendors. Both DAGs are triggered and their human steps
answered through Airflow's REST API only, the way an operator's tooling would.

One test on purpose: the cluster takes a minute to start, and the erasure follows the sweep on
the same data. Everything started is stopped at the end, also when an assertion fails; the
processes' logs are printed then (see tests/deployment/deployment.py)."""

from __future__ import annotations

import json
import time

import pytest

from ks_privacy.dag_support import pool_for
from ks_privacy.evidence import AuditTrail
from tests.deployment.deployment import Deployment, RunResult
from tests.deployment.people import ADMIN_USER, APPROVER, EMAIL, VERIFIER
from tests.fixtures.pii import found_in, seeded_values

SOURCES = ("activecampaign", "google_contacts", "tawk", "website_activity")


@pytest.mark.services
def test_sweep_and_erasure_run_on_celery_workers(tmp_path):
    # not a fixture: a failing check must pass through Deployment.__exit__, which prints the
    # processes' logs before it stops them
    with Deployment(tmp_path / "distributed") as deployment:
        started = time.monotonic()
        retention = deployment.run_retention()
        check_sweep(deployment, retention)

        subject = deployment.pick_subject()
        erasure = deployment.run_erasure(subject)
        check_erasure(deployment, erasure, subject)
        check_four_eyes_and_notification(deployment, erasure, subject)

        for run in (retention, erasure):
            check_ran_on_celery(deployment, run)
        check_pools(deployment, retention)
        chain = AuditTrail(deployment.audit_engine).verify()
        assert chain.ok, chain.summary()
        print(f"runs took {time.monotonic() - started:.0f} s; {chain.summary()}")
    assert [p.name for p in deployment.cluster.processes if p.popen.poll() is None] == []


def check_sweep(deployment: Deployment, run: RunResult) -> None:
    """Every record the run's plan erased is gone from the emulator that held it, every phone
    number it redacted is empty, every person on legal hold is still there, and the evidence
    names the run."""
    assert set(run.states().values()) <= {"success", "skipped"}, run.states()
    plan = deployment.audit_sql(
        "SELECT source, record_ref FROM ks_plan WHERE dag_id = :d AND run_id = :r "
        "AND action = 'erase' AND outcome = 'erased'",
        d=run.dag_id,
        r=run.run_id,
    )
    erased: dict[str, list[str]] = {}
    for source, ref in plan:
        erased.setdefault(source, []).append(ref)
    assert sorted(erased) == sorted(SOURCES)
    vendors = deployment.vendors
    still_there = {
        source: [ref for ref in refs if EXISTS[source](vendors, ref)]
        for source, refs in erased.items()
    }
    assert still_there == {source: [] for source in SOURCES}
    for source, ref in _one_remaining_ref_each(vendors).items():  # the lookups can say yes
        assert EXISTS[source](vendors, ref), (source, ref)

    redacted = deployment.audit_sql(
        "SELECT record_ref FROM ks_plan WHERE dag_id = :d AND run_id = :r "
        "AND source = 'activecampaign' AND action = 'redact' AND outcome = 'redacted'",
        d=run.dag_id,
        r=run.run_id,
    )
    assert redacted
    for (ref,) in redacted:
        assert vendors.sql("SELECT phone FROM ac_contacts WHERE id = ?", int(ref)) == [("",)]

    held = vendors.sql("SELECT ac_id, google_resource FROM seed_people WHERE held = 1")
    assert held
    for ac_id, resource in held:
        assert ac_id is None or _ac_exists(vendors, str(ac_id)), "a held contact was erased"
        assert resource is None or _google_exists(vendors, resource), "a held contact was erased"

    events = deployment.audit_sql(
        "SELECT count(*) FROM ks_evidence WHERE dag_id = :d AND run_id = :r",
        d=run.dag_id,
        r=run.run_id,
    )[0][0]
    assert events >= len(plan)


def check_erasure(deployment: Deployment, run: RunResult, subject: dict) -> None:
    """The person is gone from every system; the request is closed in the register."""
    states = run.states()
    assert states["approve"] == "success" and states["finish"] == "success", states
    vendors = deployment.vendors
    assert not _ac_exists(vendors, str(subject["ac_id"]))
    assert not _google_exists(vendors, subject["google_resource"])
    placeholders = ",".join("?" * len(subject["tawk_chat_ids"]))
    assert not vendors.sql(
        f"SELECT id FROM tawk_chats WHERE id IN ({placeholders})", *subject["tawk_chat_ids"]
    )
    assert not vendors.website_sql(
        "SELECT id FROM page_events WHERE lower(trim(contact_email)) = :e", e=subject["email"]
    )
    status = deployment.audit_sql(
        "SELECT status FROM ks_requests WHERE request_ref = :ref", ref=run.conf["request_ref"]
    )
    assert status == [("completed",)]


def check_four_eyes_and_notification(deployment: Deployment, run: RunResult, subject: dict) -> None:
    """admin triggered the erasure: Airflow's HITL REST API refused admin's approval (403, its
    message) and the step was assigned to Anna alone, who was told by e-mail (through the SMTP
    server of this test) and approved. The evidence names all three."""
    assert [(r.task_id, r.user, r.status) for r in run.refused] == [("approve", ADMIN_USER, 403)]
    assert run.refused[0].detail == (
        f"User={ADMIN_USER} (id={ADMIN_USER}) is not a respondent for the task."
    )
    mails = [m for m in deployment.mailbox.received() if "Approval waits" in m.subject]
    assert len(mails) == 1, [m.subject for m in deployment.mailbox.received()]
    (mail,) = mails
    assert mail.rcpt_tos == (EMAIL[APPROVER],)
    link = (
        f"{deployment.cluster.url}/dags/{run.dag_id}/runs/{run.run_id}/tasks/approve/"
        "required_actions"
    )
    assert link in mail.body
    values = seeded_values(deployment.vendors)
    assert subject["email"] in values  # the scan below looks for the right person too
    assert found_in(mail.raw, values) == []
    details = deployment.audit_sql(
        "SELECT details FROM ks_evidence WHERE event = 'approval.decided' AND record_ref = :ref",
        ref=run.conf["request_ref"],
    )
    assert json.loads(details[0][0]) == {
        "requested_by": ADMIN_USER,
        "verified_by": VERIFIER,
        "decided_by": APPROVER,
    }


def check_ran_on_celery(deployment: Deployment, run: RunResult) -> None:
    """Each task instance went through our Celery queue and was executed by the Celery worker
    process (its log names every task instance it ran)."""
    cluster = deployment.cluster
    ran = [ti for ti in run.task_instances if ti["state"] == "success"]
    assert ran
    assert {ti["queue"] for ti in ran} == {cluster.queue}
    assert all(ti["hostname"] for ti in ran)
    workers = [p for p in cluster.processes if p.name.startswith("worker")]
    worker_log = "\n".join(p.log.read_text() for p in workers)
    missing = [ti["task_id"] for ti in ran if ti["id"] not in worker_log]
    assert missing == [], f"not executed by the Celery worker: {missing}"


def check_pools(deployment: Deployment, run: RunResult) -> None:
    """init_deployment.py made one single-slot pool per source, and the vendor tasks ran in them."""
    pools = {p["name"]: p["slots"] for p in deployment.cluster.get("/api/v2/pools")["pools"]}
    used = {ti["pool"] for ti in run.task_instances if ti["task_id"].endswith(".scan")}
    assert used == {pool_for(source) for source in SOURCES}
    assert {name: pools[name] for name in used} == dict.fromkeys(used, 1)


def _ac_exists(vendors, ref: str) -> bool:
    return bool(vendors.sql("SELECT 1 FROM ac_contacts WHERE id = ?", int(ref)))


def _tawk_chat_exists(vendors, ref: str) -> bool:
    return bool(vendors.sql("SELECT 1 FROM tawk_chats WHERE id = ?", ref))


def _google_exists(vendors, ref: str) -> bool:
    person = ref.removeprefix("people/")
    return bool(vendors.sql("SELECT 1 FROM g_people WHERE person_id = ?", person))


def _website_day_has_events(vendors, ref: str) -> bool:
    day = ref.removeprefix("day:")
    return bool(
        vendors.website_sql(
            "SELECT 1 FROM page_events WHERE substr(CAST(occurred_at AS TEXT), 1, 10) = :d",
            d=day,
        )
    )


def _one_remaining_ref_each(vendors) -> dict[str, str]:
    """A record the sweep kept in each source, as the plan would name it."""
    day = vendors.website_sql("SELECT max(occurred_at) FROM page_events")[0][0]
    return {
        "activecampaign": str(vendors.sql("SELECT max(id) FROM ac_contacts")[0][0]),
        "google_contacts": "people/" + vendors.sql("SELECT max(person_id) FROM g_people")[0][0],
        "tawk": vendors.sql("SELECT max(id) FROM tawk_chats")[0][0],
        "website_activity": f"day:{str(day)[:10]}",
    }


EXISTS = {
    "activecampaign": _ac_exists,
    "google_contacts": _google_exists,
    "tawk": _tawk_chat_exists,
    "website_activity": _website_day_has_events,
}
