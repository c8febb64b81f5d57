"""
### ks_request_identity: a person confirms the identity of a request that came by e-mail

Started by `ks_request_intake` for each request it registered from the privacy mailbox
(params: the reference only). **awaits_identity** (nothing to do for a request checked or closed
already) → **confirm_identity** (ops open the message in their mail client and compare the ID
copy with the request; we never download or keep it; the time allowed,
`intake.identity_timeout_days`, counts from registration) → **record_answer**: confirmed: who
confirmed is recorded and the request is opened; refused or no answer in time: the request
closes as `identity_not_verified` and the sender gets a reply (Dutch and English), and nothing
follows. Then **remove_id_copy** (the message replaced by a copy without its attachments, or
deleted, as policy `intake.id_copy` says; evidence `id_copy.deleted`) and **start_request**
(the request's own DAG, triggered with the reference).
"""

from __future__ import annotations

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import dag, task

from ks_privacy.dag_support import load_dag_policy, request_dag_args, request_params
from ks_privacy.intake import tasks as intake
from ks_privacy.intake.identity_step import IdentityCheckOperator

POLICY = load_dag_policy()
args = request_dag_args(__doc__, request_params(), ("manual", "operator_triggered"))
args["tags"] = ["privacy", "intake"]
args["params"].pop("dry_run")


@dag(**args)
def ks_request_identity():
    check = task.short_circuit(intake.awaits_identity, task_id="awaits_identity", retries=0)()
    confirm = IdentityCheckOperator(
        task_id="confirm_identity",
        subject="Identity check for request {{ params.request_ref }}",
        body=(
            "Request **{{ params.request_ref }}** came by e-mail. Open it in the mail client and "
            "compare the ID copy with the request (photo, MRZ, document number and BSN should "
            "be blacked out). Do not download or save the copy: once you confirm, it is "
            "removed from the mailbox and the request runs."
        ),
        timeout_days=POLICY.intake.identity_timeout_days,
        retries=0,
    )
    answer = task(intake.record_answer, task_id="record_answer", retries=0)(confirm.output)
    remove = task(intake.remove_id_copy, task_id="remove_id_copy")()
    start = TriggerDagRunOperator(
        task_id="start_request",
        trigger_dag_id="{{ ti.xcom_pull(task_ids='record_answer') }}",
        trigger_run_id="request__{{ params.request_ref }}",
        conf={"request_ref": "{{ params.request_ref }}"},
        skip_when_already_exists=True,
    )
    check >> confirm
    answer >> [remove, start]


ks_request_identity()
