"""
### ks_request_rectification: correct a person's data everywhere (GDPR Art. 16)

Triggered by ops when a person asks to correct their name, phone number, address or e-mail.
Fill in only the fields that change (`new_first_name`, `new_last_name`, `new_phone`,
`new_address`, `new_email`).

**check** (a real address, dates, identity checked on a redacted ID copy, plausible new
values) → **register** → **rectify** (every source that holds the person; the evidence lists
which fields changed where, never the values; Tawk chat transcripts cannot be changed through
its API and are reported as not changed) → **finish** (closes the request, writes the
confirmation text).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task

from ks_privacy.dag_support import DEFAULT_ARGS, request_params
from ks_privacy.tasks import subject_requests


def _optional(title: str, **schema) -> Param:
    return Param(None, type=["null", "string"], title=title, **schema)


@dag(
    schedule=None,
    allowed_run_types=["manual"],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    doc_md=__doc__,
    default_args=DEFAULT_ARGS,
    tags=["privacy", "request"],
    params=request_params(
        new_first_name=_optional("New first name", maxLength=200),
        new_last_name=_optional("New last name", maxLength=200),
        new_phone=_optional("New phone number", maxLength=30),
        new_address=_optional("New address", maxLength=200),
        new_email=_optional("New e-mail address", maxLength=254),
    ),
)
def ks_request_rectification():
    check = task(subject_requests.check, task_id="check", retries=0)("rectification")
    register = task.short_circuit(
        subject_requests.register, task_id="register", ignore_downstream_trigger_rules=False
    )("rectification")
    rectify = task(subject_requests.rectify, task_id="rectify")()
    finish = task(subject_requests.finish, task_id="finish", trigger_rule="all_done", retries=0)(
        "rectification"
    )
    check >> register >> rectify >> finish


ks_request_rectification()
