"""
### ks_request_consent: withdrawal of consent or objection to processing

Triggered by ops, with the reference of a registered request (`--kind consent`), when a person
withdraws consent (e.g. for the newsletter and DRIP campaigns) or objects to processing.

**check** (a registered consent request, not answered yet) → **withdraw** (unsubscribe from every
ActiveCampaign list, record a tracking opt-out for the website, and record per source what was
done) → **finish** (closes the request, `no_data_found` when no source knows the address, and
writes the letter). To also erase the person's data, register an erasure with reason
`consent_withdrawn` or `objection` and its own reference: erasure always needs its own human
approval.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from ks_privacy.dag_support import request_dag_args, request_flow, request_params
from ks_privacy.tasks import request_work


@dag(**request_dag_args(__doc__, request_params(), ("manual", "operator_triggered")))
def ks_request_consent():
    request_flow("consent", task(request_work.withdraw_consent, task_id="withdraw")())


ks_request_consent()
