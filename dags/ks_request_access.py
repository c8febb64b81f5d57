"""
### ks_request_access: give a person all their data as a computer file (GDPR Art. 15 and 20)

Triggered by ops, with the reference of a registered request (Browse > Privacy requests, or
`python -m ks_privacy request register --kind access`), when a person asks to see their data
(inzage) or to have it sent to them or to another organisation (gegevensoverdraagbaarheid).

**check** (a registered access request, not answered yet) → **export** (everything every source
holds on the person: contact fields, tags, list status, tracking data, chats, page events; one
zip with export.json structured per source and one CSV per source, written through
ObjectStoragePath to `ks_export_base`, its sha256 in the evidence) → **finish** (closes the
request, `no_data_found` when no source knows the address, and writes the letter saying what
the export holds and how the person gets it). The export is personal data itself: the daily
sweep deletes it after the policy's `export_retention_days`. Send it over a secure channel;
nothing about its content is logged.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from ks_privacy.dag_support import request_dag_args, request_flow, request_params
from ks_privacy.tasks import request_work


@dag(**request_dag_args(__doc__, request_params(), ("manual", "operator_triggered")))
def ks_request_access():
    request_flow("access", task(request_work.access_export, task_id="export")())


ks_request_access()
