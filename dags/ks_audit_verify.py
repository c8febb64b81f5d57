"""
### ks_audit_verify: prove, every day, that the privacy statement's promises were kept

Reads the audit database (connection `ks_audit_db`) and changes nothing in it.

- **verify_chain** walks the hash chain of `ks_evidence` from the first row and checks it
  against every anchor in the anchor store (Airflow variable `ks_audit_anchor_base`), the
  append-only triggers, and the tables decisions read (mirrored into the chain). A problem fails
  the task and names the row, the anchor or the table row; success logs `audit chain intact`
  and publishes the head as a new signed anchor (`ANCHOR seq:hash published as ...`). Param
  `anchors` (`SEQ:HASH` noted by hand) adds heads to check besides the store's.
- **check_verifications**: every `erased`/`redacted` outcome has a later `verify` read-back
  that found the record gone (param `verify_grace_hours` for runs still in progress).
- **check_requests**: every request in the register `ks_requests` was closed within four
  weeks of receipt, or is flagged; open requests past their due date fail the task.
- **report** writes the auditor report for the `period_days` before the run (HTML with
  charts, the CSV of the evidence, a JSON summary), each signed (`.sig`, Ed25519, variable
  `ks_audit_private_key`), to Airflow variable `ks_audit_report_base` (default
  `$AIRFLOW_HOME/ks-audit-reports/`), and as `latest.*` for the auditors' page.

Every result is also in the task logs, one line per finding. See docs/auditors.md.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task

from ks_privacy.audit import tasks
from ks_privacy.dag_support import daily_dag_args

PARAMS = {
    "period_days": Param(
        31, type="integer", minimum=1, maximum=400, description="Days the report covers."
    ),
    "verify_grace_hours": Param(
        24,
        type="integer",
        minimum=0,
        maximum=168,
        description="How long an erasure may wait for its read-back before it is a problem.",
    ),
    "anchors": Param(
        [],
        type="array",
        items={"type": "string", "pattern": "^[0-9]+:[0-9a-f]{64}$"},
        description=(
            "Rows noted down by hand (SEQ:HASH) that the chain must still contain, checked "
            "besides every anchor in the anchor store."
        ),
    ),
}


@dag(**daily_dag_args(__doc__, ["audit"], PARAMS))
def ks_audit_verify():
    task(tasks.verify_chain, task_id="verify_chain", retries=1)()
    task(tasks.check_verifications, task_id="check_verifications", retries=1)()
    task(tasks.check_requests, task_id="check_requests", retries=1)()
    task(tasks.write_report, task_id="report")()


ks_audit_verify()
