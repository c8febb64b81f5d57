"""
### ks_data_inventory: where the personal data really is (weekly, and on demand)

Per source in the retention policy, **classify_&lt;source&gt;** reads every record (ActiveCampaign
contacts and every custom field's values, Google contacts with every person field, Tawk chats
with their messages, the website's page events), through the same hooks, pools and rate limits
as the sweep, and runs deterministic detectors over every field: e-mail, phone (Dutch and
international), IPv4/IPv6, Dutch postcode with house number, IBAN (mod-97), BSN (11-check),
date of birth. It records counts per source x field x category (never a value) and the findings
as evidence (`inventory.field`, `inventory.finding`, `inventory.completed`).

**report** prints the table in the task log and writes an HTML report (with the auditor report's
look) and a JSON summary to `<ks_audit_report_base>/inventory/`. The run **fails** (and so
notifies) on any BSN, on a category the statement does not list for that processor (unless the
policy acknowledges it, with a reason), and on personal data in a field the sweep does not keep
to its term (not mapped in the policy's `fields`, or mapped to the wrong category).

Params: `sample_size` (0: every record; else about that many records per source, the same ones
every run: chosen by a hash of their ids), `sources`. See docs/inventory.md.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task

from ks_privacy.dag_support import DEFAULT_ARGS, load_dag_policy, pool_for
from ks_privacy.discovery import tasks

POLICY = load_dag_policy()  # a broken policy file fails the import, naming the key and line
SOURCES = POLICY.enabled_sources()

PARAMS = {
    "sample_size": Param(
        0,
        type="integer",
        minimum=0,
        description="0: every record. Otherwise about this many records per source, the same "
        "ones every run (a hash of their ids): for very large accounts.",
    ),
    "sources": Param(
        SOURCES,
        type="array",
        items={"type": "string", "enum": SOURCES},
        uniqueItems=True,
        description="The sources this run classifies.",
    ),
}


@dag(
    schedule="@weekly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    default_args=DEFAULT_ARGS,
    tags=["privacy", "inventory"],
    params=PARAMS,
)
def ks_data_inventory():
    classified = [
        task(tasks.classify, task_id=f"classify_{name}", pool=pool_for(name))(name)
        for name in SOURCES
    ]
    report = task(tasks.report, task_id="report", trigger_rule="all_done", retries=0)(SOURCES)
    classified >> report


ks_data_inventory()
