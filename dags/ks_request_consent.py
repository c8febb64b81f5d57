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

import pendulum
from airflow.sdk import dag, task

from ks_privacy.dag_support import DEFAULT_ARGS, request_params
from ks_privacy.tasks import subject_requests


@dag(
    schedule=None,
    allowed_run_types=["manual"],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    doc_md=__doc__,
    default_args=DEFAULT_ARGS,
    tags=["privacy", "request"],
    params=request_params(),
)
def ks_request_consent():
    check = task(subject_requests.check, task_id="check", retries=0)("consent")
    register = task.short_circuit(
        subject_requests.register, task_id="register", ignore_downstream_trigger_rules=False
    )("consent")
    withdraw = task(subject_requests.withdraw_consent, task_id="withdraw")()
    finish = task(subject_requests.finish, task_id="finish", trigger_rule="all_done", retries=0)(
        "consent"
    )
    check >> register >> withdraw >> finish


ks_request_consent()
