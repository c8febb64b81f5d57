"""
### ks_request_erasure: erase a person everywhere (GDPR Art. 17), after a human approves

Triggered by ops from the trigger form when a person asks to be forgotten, when a minor under 16
is reported, or after consent is withdrawn or an objection upheld (param `reason`).

**check** (what the form's schema cannot: a real address, not a pattern; dates; identity checked
on a redacted ID copy) → **register** (the request and its four-week deadline; a reference that
was already answered stops here) → **locate** (exact, normalised address in every source; counts
per source in the log; two contacts for one address stop the request for a person to look at)
→ **approve** (a person approves the erasure seeing the counts: no automated decision) → per
source **apply → verify** (Tawk: a worklist a person deletes by hand and confirms) → **finish**
(closes the request and writes the confirmation text, Dutch and English, naming the processors
informed). Reject at approval: nothing is erased, and who rejected is recorded.
"""

from __future__ import annotations

from airflow.sdk import TaskGroup, dag, task

from ks_privacy.dag_support import (
    load_dag_policy,
    request_dag_args,
    request_flow,
    request_params,
    source_actions,
)
from ks_privacy.operators import RecordedApprovalOperator
from ks_privacy.request_params import REASONS
from ks_privacy.tasks import subject_requests

POLICY = load_dag_policy()

APPROVAL_BODY = """\
Request **{{ params.request_ref }}** (reason: {{ params.reason }}), received \
{{ params.received_on }}; identity checked by {{ params.identity_verified_by }}.

| source | to erase | on legal hold (kept) |
| --- | --- | --- |
{% for source, n in (ti.xcom_pull(task_ids='locate') or {}).items() -%}
| {{ source }} | {{ n.erase }} | {{ n.hold }} |
{% endfor %}
Approve to erase these records now; Reject to erase nothing (the decision is recorded).
"""


@dag(**request_dag_args(__doc__, request_params(reasons=REASONS), ("manual", "operator_triggered")))
def ks_request_erasure():
    register, finish = request_flow("erasure", None)
    locate = task(subject_requests.locate, task_id="locate", retries=0)()
    proceed = task.short_circuit(
        subject_requests.proceed, task_id="proceed", ignore_downstream_trigger_rules=False
    )()
    approve = RecordedApprovalOperator(
        task_id="approve",
        subject="Erase the data of request {{ params.request_ref }}?",
        body=APPROVAL_BODY,
        timeout_days=POLICY.human_steps.approval_timeout_days,
    )
    register >> locate >> proceed >> approve
    for name in POLICY.enabled_sources():
        with TaskGroup(group_id=name):
            first, last = source_actions(name)
        approve >> first
        last >> finish


ks_request_erasure()
