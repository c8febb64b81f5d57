"""
### ks_retention_daily: keep the privacy statement's retention terms, every day

Per source in `include/retention_policy.yaml`: **scan** (stream records, decide with the policy,
store the plan: refs, decisions and pseudonyms only) → **guard** (stop before deleting when the
plan is implausibly large) → **apply** (erase or redact, with an intent row before and an outcome
row after every vendor call) → **verify** (read every acted-on record back). Sources without a
delete API (Tawk) get a worklist and a human confirmation instead of apply's deletes. One
**report** per run prints the table per source and category and fails the run if anything needs
a human (a tripped guard, a failed or unverified action, a pending manual step).

Params: `dry_run` (plan and report, delete nothing), `sources` (which sources this run covers),
`override_guard` (after a human checked a tripped plan), `full_scan` (`auto`: Sundays).
Evidence: table `ks_evidence` on connection `ks_audit_db`; see the README.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import Param, dag, task, task_group
from ks_privacy.dag_support import DEFAULT_ARGS, load_dag_policy, pool_for
from ks_privacy.sources import adapter_class
from ks_privacy.tasks import retention

POLICY = load_dag_policy()  # a broken policy file fails the import, naming the key and line
SOURCES = POLICY.enabled_sources()


@dag(
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    default_args=DEFAULT_ARGS,
    tags=["privacy", "retention"],
    params={
        "dry_run": Param(
            POLICY.dry_run_by_default,
            type="boolean",
            description="Plan and report only; nothing is deleted (default: the policy's mode).",
        ),
        "sources": Param(
            SOURCES,
            type="array",
            items={"type": "string", "enum": SOURCES},
            uniqueItems=True,
            description="The sources this run covers.",
        ),
        "override_guard": Param(
            False,
            type="boolean",
            description="Proceed although the guard tripped; only after a human checked the plan.",
        ),
        "full_scan": Param(
            "auto",
            enum=["auto", "yes", "no"],
            description="Full reconciliation scan instead of the incremental one (auto: Sundays).",
        ),
    },
)
def ks_retention_daily():
    groups = [source_group(name) for name in SOURCES]
    report = task(retention.report, task_id="report", trigger_rule="all_done", retries=0)
    groups >> report(SOURCES)


def source_group(name: str):
    pool = pool_for(name)
    manual = adapter_class(name).manual_erasure

    @task_group(group_id=name)
    def group():
        selected = task.short_circuit(
            retention.selected, task_id="selected", ignore_downstream_trigger_rules=False
        )(name)
        scan = task(retention.scan, task_id="scan", pool=pool)(name)
        guard = task(retention.guard, task_id="guard", retries=0)(name)
        apply = task(retention.apply, task_id="apply", pool=pool)(name)
        verify = task(retention.verify, task_id="verify", pool=pool)
        if not manual:
            selected >> scan >> guard >> apply >> verify(name)
            return
        worklist = task(retention.worklist, task_id="worklist")(name)
        needs_person = task.short_circuit(
            retention.has_worklist, task_id="needs_person", ignore_downstream_trigger_rules=False
        )(worklist)
        ask = HITLOperator(
            task_id="confirm_deleted",
            subject=f"{name}: delete the listed records by hand",
            body=(
                f"{name} has no delete API. Delete these records in its dashboard, then confirm."
                "\n\nRecord ids: {{ ti.xcom_pull(task_ids='" + name + ".worklist') | join(', ') }}"
            ),
            options=[retention.sweep_manual_yes(), "Not deleted"],
            response_timeout=timedelta(days=3),
        )
        confirmed = task(retention.confirm, task_id="record_confirmation")(
            name, worklist, ask.output
        )
        selected >> scan >> guard >> apply >> worklist >> needs_person >> ask >> confirmed
        confirmed >> verify(name)

    return group()


ks_retention_daily()
