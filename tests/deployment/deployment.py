"""The suite's distributed run: databases, the seeded sandbox, the staff's SMTP server and the
native cluster (tests/deployment/cluster.py), started together and stopped together; the two
runs through the REST API. Used by tests/deployment/test_distributed.py and, as `python -m
tests.deployment.deployment`, by scripts/distributed-run.

    with Deployment(workdir) as d:           # databases, sandbox, SMTP, cluster: up and healthy
        d.run_retention()                    # ks_retention_daily through the REST API
        d.run_erasure(d.pick_subject())      # ks_request_erasure: the requester's approval is
                                             # refused (four eyes), Anna's goes through
    # everything started is stopped again, databases dropped, also when something failed
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import signal
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from devtools.hitl import Answer, Refusal
from ks_privacy.signing import generate_private_key_pem
from sandbox import Sandbox
from sandbox.seed import seed
from tests.deployment.cluster import (
    ERASURE,
    REDIS_URL,
    REPO,
    RETENTION,
    ClusterError,
    NativeCluster,
)
from tests.deployment.people import ADMIN_USER, APPROVER, VERIFIER, people_variable
from tests.fixtures.mail import Mailbox
from tests.fixtures.postgres import temporary_database
from tests.fixtures.sandbox import FAST, NOW, PSEUDONYM_KEY, Vendors, airflow_connections


@dataclass
class RunResult:
    dag_id: str
    run_id: str
    state: str
    conf: dict
    task_instances: list[dict] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)

    def states(self) -> dict[str, str | None]:
        return {ti["task_id"]: ti["state"] for ti in self.task_instances}


class Deployment:
    """Databases + seeded sandbox + native cluster, started together and stopped together."""

    def __init__(
        self,
        workdir: Path,
        *,
        contacts: int = 120,
        seed_value: int = 7,
        workers: int = 1,
        say: Callable[[str], None] = print,
    ):
        self.workdir = workdir
        self.contacts = contacts
        self.seed_value = seed_value
        self.workers = workers
        self.say = say
        self.cluster: NativeCluster | None = None
        self.vendors: Vendors | None = None
        self.mailbox: Mailbox | None = None
        self.metadata_url: sa.URL | None = None
        self.audit_url: sa.URL | None = None
        self.audit_engine: sa.Engine | None = None
        self._stack = ExitStack()

    def __enter__(self) -> Deployment:
        try:
            self._start()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def _start(self) -> None:
        stack = self._stack
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.metadata_url = metadata_url = stack.enter_context(temporary_database("ks_airflow"))
        self.audit_url = audit_url = stack.enter_context(temporary_database("ks_audit"))
        self.audit_engine = sa.create_engine(audit_url, poolclass=sa.NullPool)

        db = self.workdir / "sandbox.db"
        website = f"sqlite:///{self.workdir / 'website.db'}"
        seed(db, website, contacts=self.contacts, seed=self.seed_value, now=NOW)
        box = Sandbox(db).start()
        stack.callback(box.stop)
        self.vendors = Vendors(box, db, website, audit_url)
        for service in ("activecampaign", "google", "tawk"):
            self.vendors.control(service, "rate_limit", {"per_second": FAST})

        self.mailbox = Mailbox().start()  # the staff's mail server: notifications land here
        stack.callback(self.mailbox.stop)

        env = airflow_connections(box, website, audit_url)
        env["AIRFLOW_VAR_KS_PSEUDONYM_KEY"] = PSEUDONYM_KEY
        # the audit signing key and anchor store of this deployment (tests make their own)
        env["AIRFLOW_VAR_KS_AUDIT_PRIVATE_KEY"] = generate_private_key_pem()
        env["AIRFLOW_VAR_KS_AUDIT_ANCHOR_BASE"] = (self.workdir / "anchors").as_uri() + "/"
        env["AIRFLOW_VAR_KS_PEOPLE"] = people_variable()
        env["AIRFLOW_CONN_SMTP_DEFAULT"] = self.mailbox.airflow_connection()
        self.cluster = NativeCluster(
            self.workdir / "airflow", metadata_url, env, workers=self.workers
        )
        started = time.monotonic()
        self.cluster.prepare()
        self.say(f"databases migrated, pools created in {time.monotonic() - started:.0f} s")
        stack.callback(self.cluster.stop)
        self.cluster.start()
        self.cluster.wait_ready([RETENTION, ERASURE])
        self.say(f"cluster healthy after {time.monotonic() - started:.0f} s at {self.cluster.url}")

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is not None and self.cluster is not None and self.cluster.processes:
            self.say(f"FAILED: {exc}\n{self.cluster.tails()}")
        if self.audit_engine is not None:
            self.audit_engine.dispose()
        self._stack.close()

    def where(self) -> list[str]:
        """Where a person looks while the cluster runs."""
        cluster, vendors = self.cluster, self.vendors
        return [
            f"Airflow UI       {cluster.url}  (user {ADMIN_USER}, password {cluster.password}; "
            f"approver {APPROVER}, password {cluster.passwords[APPROVER]})",
            f"SMTP (staff)     {self.mailbox.host}:{self.mailbox.port}  (notifications)",
            f"processes        {', '.join(p.name for p in cluster.processes)}",
            f"process logs     {cluster.logs}/<process>.log",
            f"task logs        {cluster.home / 'logs'}/dag_id=<dag>/run_id=<run>/task_id=<task>/",
            f"Celery           queue {cluster.queue} on {REDIS_URL}",
            f"metadata DB      {self.metadata_url.render_as_string(hide_password=True)}",
            f"audit DB         {self.audit_url.render_as_string(hide_password=True)}"
            "  (ks_evidence, ks_plan, ks_requests)",
            *(
                f"{label:<17}{vendors.sandbox.control_url(name)}/state  (sandbox)"
                for name, label in (
                    ("activecampaign", "ActiveCampaign"),
                    ("google", "Google People"),
                    ("tawk", "Tawk"),
                )
            ),
        ]

    # -- the two runs ------------------------------------------------------------------------------

    def audit_sql(self, query: str, **params) -> list[tuple]:
        with self.audit_engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(query), params)]

    def _dashboard_delete(self, dag_id: str, run_id: str) -> Callable[[], None]:
        """What the person does before confirming: delete the run's Tawk worklist by hand."""

        def delete() -> None:
            refs = self.audit_sql(
                "SELECT record_ref FROM ks_plan WHERE dag_id = :d AND run_id = :r "
                "AND source = 'tawk' AND state = 'manual'",
                d=dag_id,
                r=run_id,
            )
            deleted = self.vendors.dashboard_delete([r[0] for r in refs])
            self.say(f"  {dag_id}: deleted {deleted} Tawk chats in the 'dashboard'")

        return delete

    def _run(
        self, dag_id: str, conf: dict, answers: dict[str, Answer | list[Answer]], **trigger
    ) -> RunResult:
        from ks_privacy.tasks.actions import MANUAL_YES

        cluster = self.cluster
        cluster.unpause(dag_id)
        run_id = cluster.trigger(dag_id, conf, **trigger)
        self.say(f"{dag_id}: triggered {run_id}")
        answers = {
            "tawk.confirm_deleted": (MANUAL_YES, self._dashboard_delete(dag_id, run_id)),
            **answers,
        }
        started = time.monotonic()
        refused: list[Refusal] = []
        state = cluster.wait_for_run(dag_id, run_id, answers, refused=refused)
        result = RunResult(
            dag_id, run_id, state, conf, cluster.task_instances(dag_id, run_id), refused
        )
        for refusal in refused:
            self.say(
                f"  {refusal.task_id}: {refusal.user} refused ({refusal.status}: {refusal.detail})"
            )
        self.say(f"{dag_id}: {state} after {time.monotonic() - started:.0f} s")
        if state != "success":
            raise ClusterError(f"{dag_id} {run_id} ended {state}: {result.states()}")
        return result

    def run_retention(self) -> RunResult:
        """The daily sweep for the seed's day; the first plan is large, so the guard is
        overridden as a person would after checking it."""
        return self._run(RETENTION, {"override_guard": True}, {}, logical_date=NOW.isoformat())

    def pick_subject(self) -> dict:
        """A person in every system, not on hold, with Tawk chats, whose records the sweep left
        (recent activity), whose address is unique in ActiveCampaign."""
        rows = self.vendors.sql(
            "SELECT person_id, email, ac_id, google_resource, tawk_chat_ids FROM seed_people "
            "WHERE held = 0 AND systems = 'activecampaign,google,tawk' AND person_id > 18 "
            "ORDER BY last_activity DESC"
        )
        for person_id, email, ac_id, resource, chats in rows:
            chat_ids = json.loads(chats or "[]")
            if not chat_ids or not self.vendors.sql("SELECT 1 FROM ac_contacts WHERE id=?", ac_id):
                continue
            same = self.vendors.sql(
                "SELECT count(*) FROM ac_contacts WHERE lower(trim(email)) = ?", email
            )[0][0]
            if same == 1:
                return {
                    "person_id": person_id,
                    "email": email,
                    "ac_id": ac_id,
                    "google_resource": resource,
                    "tawk_chat_ids": chat_ids,
                }
        raise ClusterError("the seed has no suitable subject for an erasure request")

    def run_erasure(self, subject: dict, request_ref: str = "REQ-2026-0042") -> RunResult:
        """Registered first, as ops do (the address into the vault), then triggered through the
        REST API with the reference only."""
        from ks_privacy.audit_db import engine_for_url, migrate
        from ks_privacy.evidence import AuditTrail, RunContext
        from ks_privacy.policy import load_policy
        from ks_privacy.pseudonym import Pseudonymiser
        from ks_privacy.registration import register_request

        engine = engine_for_url(self.audit_url)
        migrate(engine)
        register_request(
            AuditTrail(engine, RunContext(task_id="request register")),
            Pseudonymiser(PSEUDONYM_KEY),
            load_policy(),
            "erasure",
            {
                "subject_email": subject["email"],
                "request_ref": request_ref,
                "received_on": NOW.date().isoformat(),
                "identity_verified": True,
                "identity_verified_by": VERIFIER,
                "reason": "request",
            },
        )
        conf = {"request_ref": request_ref, "dry_run": False}
        # admin triggered it, so admin may not approve it (four eyes): refused by Airflow's API
        attempts = [("Approve", None, ADMIN_USER), ("Approve", None, APPROVER)]
        return self._run(ERASURE, conf, {"approve": attempts})


def main(argv: list[str] | None = None) -> int:
    """scripts/distributed-run: the test's scenario for a person to watch."""
    parser = argparse.ArgumentParser(
        prog="scripts/distributed-run",
        description="Start Airflow's distributed set-up natively (CeleryExecutor, PostgreSQL, "
        "Redis, sandbox vendors), run ks_retention_daily and ks_request_erasure through the "
        "REST API, show where to look, stop everything.",
    )
    parser.add_argument("--workers", type=int, default=2, help="Celery workers (default 2)")
    parser.add_argument("--contacts", type=int, default=120, help="people in the sandbox seed")
    parser.add_argument(
        "--workdir", type=Path, default=REPO / "var" / "distributed-run", help="logs and data"
    )
    parser.add_argument(
        "--keep", action="store_true", help="after the runs, keep it all up until Ctrl-C"
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop everything on SIGTERM too
    if args.workdir.exists():
        shutil.rmtree(args.workdir)

    def say(text: str) -> None:
        print(text, flush=True)

    started = time.monotonic()
    with Deployment(args.workdir, contacts=args.contacts, workers=args.workers, say=say) as d:
        say("\n".join(["", *d.where(), ""]))
        runs = [d.run_retention()]
        runs.append(d.run_erasure(d.pick_subject()))
        from ks_privacy.evidence import AuditTrail

        say("")
        for run in runs:
            say(f"{run.dag_id}: {run.state}, run {run.run_id}, {len(run.task_instances)} tasks")
        for proc in d.cluster.processes:
            if proc.name.startswith("worker"):
                executed = proc.log.read_text().count("Executing workload in Celery")
                say(f"{proc.name} executed {executed} task workloads")
        for refusal in runs[1].refused:
            say(f"four eyes: {refusal.user} refused by Airflow's HITL API ({refusal.detail})")
        for mail in d.mailbox.received():
            say(f"e-mail to {', '.join(mail.rcpt_tos)}: {mail.subject}")
        say(AuditTrail(d.audit_engine).verify().summary())
        say(f"done in {time.monotonic() - started:.0f} s")
        if args.keep:
            say("\nstill running; look around (see above), Ctrl-C stops everything")
            with contextlib.suppress(KeyboardInterrupt):
                signal.pause()
    say(f"stopped; logs stay in {args.workdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
