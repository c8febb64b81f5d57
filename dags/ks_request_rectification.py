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

from airflow.sdk import Param, dag, task

from ks_privacy.dag_support import request_dag_args, request_flow, request_params
from ks_privacy.tasks import subject_requests


def _optional(title: str, **schema) -> Param:
    return Param(None, type=["null", "string"], title=title, **schema)


PARAMS = request_params(
    new_first_name=_optional("New first name", maxLength=200),
    new_last_name=_optional("New last name", maxLength=200),
    new_phone=_optional("New phone number", maxLength=30),
    new_address=_optional("New address", maxLength=200),
    new_email=_optional("New e-mail address", maxLength=254),
)


@dag(**request_dag_args(__doc__, PARAMS))
def ks_request_rectification():
    request_flow("rectification", task(subject_requests.rectify, task_id="rectify")())


ks_request_rectification()
