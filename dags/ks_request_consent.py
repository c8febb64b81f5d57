"""
### ks_request_consent: withdrawal of consent or objection to processing

Triggered by ops when a person withdraws consent (e.g. for the newsletter and DRIP campaigns) or
objects to processing.

**check** (a real address, dates, identity checked on a redacted ID copy) → **register** →
**withdraw** (unsubscribe from every ActiveCampaign list, record a tracking opt-out for the
website, and record per source what was done) → **finish** (closes the request). To also erase
the person's data, trigger `ks_request_erasure` with reason `consent_withdrawn` or `objection`
and its own request reference: erasure always needs its own human approval.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from ks_privacy.dag_support import request_dag_args, request_flow, request_params
from ks_privacy.tasks import subject_requests


@dag(**request_dag_args(__doc__, request_params()))
def ks_request_consent():
    request_flow("consent", task(subject_requests.withdraw_consent, task_id="withdraw")())


ks_request_consent()
