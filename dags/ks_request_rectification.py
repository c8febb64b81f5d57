"""
### ks_request_rectification: correct a person's data everywhere (GDPR Art. 16)

Triggered by ops, with the reference of a registered request (`--kind rectification`, with the
new values given at registration: they are personal data too, so they live in the vault, not
in this form), when a person asks to correct their name, phone number, address or e-mail.

**check** (a registered rectification, not answered yet; a new e-mail address that another
person already holds in any source is refused, naming `new_email`, before anything changes) →
**rectify** (every source that holds the person; the evidence lists which fields changed where,
never the values; Tawk chat transcripts cannot be changed through its API and are reported as
not changed) → **finish** (closes the request, `no_data_found` when no source knows the address,
and writes the letter).
"""

from __future__ import annotations

from airflow.sdk import dag, task

from ks_privacy.dag_support import request_dag_args, request_flow, request_params
from ks_privacy.tasks import request_work


@dag(**request_dag_args(__doc__, request_params(), ("manual", "operator_triggered")))
def ks_request_rectification():
    request_flow("rectification", task(request_work.rectify, task_id="rectify")())


ks_request_rectification()
