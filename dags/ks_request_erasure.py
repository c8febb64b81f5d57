"""
### ks_request_erasure: erase a person everywhere (GDPR Art. 17), after a human approves

Triggered by ops, with the reference of a registered request (Browse > Privacy requests, or
`python -m ks_privacy request register --kind erasure`), when a person asks to be forgotten,
when a minor under 16 is reported, or after consent is withdrawn or an objection upheld (the
`reason` given at registration). The person's address is in the vault, never in this form.

**check** (a registered erasure, not answered yet; a reference already answered stops here) →
**locate** (exact, normalised address in every source; counts per source in the log; two
contacts for one address stop the request for a person to look at) → **approve** (a person
approves the erasure seeing the counts: no automated decision; with nothing found, the question
says so plainly and approving closes the request as `no_data_found`) → per source **apply →
verify** (Tawk: a worklist a person deletes by hand and confirms) → **finish** (closes the
request and writes the letter, Dutch and English, naming the processors informed). Reject at
approval: nothing is erased, and who rejected is recorded.
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
from ks_privacy.tasks import request_work, subject_requests

POLICY = load_dag_policy()

LOCATED = "(ti.xcom_pull(task_ids='locate') or {})"
APPROVAL_SUBJECT = (
    "{% set found = " + LOCATED + " %}"
    "{% if found.get('records') == 0 %}No data found for request {{ params.request_ref }}: "
    "close it as such?{% else %}Erase the data of request {{ params.request_ref }}?{% endif %}"
)
APPROVAL_BODY = (
    "{% set found = " + LOCATED + " %}"
    """\
Request **{{ params.request_ref }}** (reason: {{ found.get('reason') }}), received \
{{ found.get('received_on') }}; identity checked by {{ found.get('verified_by') }}.

{% if found.get('records') == 0 -%}
**No data found for this address** in any source ({{ found.get('counts', {}) | length }} \
searched). Approve to close the request as *no data found* (the person gets a letter saying \
so); Reject if the address should be checked first (nothing is erased either way).
{%- else -%}
| source | to erase | on legal hold (kept) |
| --- | --- | --- |
{% for source, n in found.get('counts', {}).items() -%}
| {{ source }} | {{ n.erase }} | {{ n.hold }} |
{% endfor %}
Approve to erase these records now; Reject to erase nothing (the decision is recorded).
{%- endif %}
"""
)


@dag(**request_dag_args(__doc__, request_params(), ("manual", "operator_triggered")))
def ks_request_erasure():
    check, finish = request_flow("erasure", None)
    locate = task(request_work.locate, task_id="locate", retries=0)()
    proceed = task.short_circuit(
        subject_requests.proceed, task_id="proceed", ignore_downstream_trigger_rules=False
    )()
    approve = RecordedApprovalOperator(
        task_id="approve",
        subject=APPROVAL_SUBJECT,
        body=APPROVAL_BODY,
        timeout_days=POLICY.human_steps.approval_timeout_days,
    )
    check >> locate >> proceed >> approve
    for name in POLICY.enabled_sources():
        with TaskGroup(group_id=name):
            first, last = source_actions(name)
        approve >> first
        last >> finish


ks_request_erasure()
