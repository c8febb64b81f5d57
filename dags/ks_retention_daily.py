"""
### ks_retention_daily: keep the privacy statement's retention terms, every day

Per source in the retention policy (`ks_privacy/data/retention_policy.yaml`, or the file at
`KS_POLICY_PATH`): **scan** (stream records, decide with the policy, store the plan: refs,
decisions and pseudonyms only) → **guard** (stop before deleting when the
plan is implausibly large) → **apply** (erase or redact, with an intent row before and an outcome
row after every vendor call) → **verify** (read every acted-on record back). Sources without a
delete API (Tawk) get a worklist and a human confirmation instead of apply's deletes. One
**report** per run prints the table per source and category and fails the run if anything needs
a human (a tripped guard, a failed or unverified action, a pending manual step).
**purge_exports** deletes access/portability exports older than `export_retention_days` (30):
they are personal data too.

Params: `dry_run` (plan and report, delete nothing), `sources` (which sources this run covers),
`override_guard` (after a human checked a tripped plan), `full_scan` (`auto`: Sundays).
Evidence: table `ks_evidence` on connection `ks_audit_db`; see docs/auditors.md.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task, task_group

from ks_privacy.dag_support import daily_dag_args, load_dag_policy, pool_for, source_actions
from ks_privacy.tasks import retention
from ks_privacy.timeouts import SCAN

POLICY = load_dag_policy()  # a broken policy file fails the import, naming the key and line
SOURCES = POLICY.enabled_sources()


PARAMS = {
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
}


@dag(**daily_dag_args(__doc__, ["retention"], PARAMS))
def ks_retention_daily():
    groups = [source_group(name) for name in SOURCES]
    purge = task(retention.purge_exports, task_id="purge_exports")()
    report = task(retention.report, task_id="report", trigger_rule="all_done", retries=0)
    [*groups, purge] >> report(SOURCES)


def source_group(name: str):
    @task_group(group_id=name)
    def group():
        selected = task.short_circuit(
            retention.selected, task_id="selected", ignore_downstream_trigger_rules=False
        )(name)
        scan = task(retention.scan, task_id="scan", pool=pool_for(name), execution_timeout=SCAN)(
            name
        )
        guard = task(retention.guard, task_id="guard", retries=0)(name)
        first, _ = source_actions(name)
        selected >> scan >> guard >> first

    return group()


ks_retention_daily()
