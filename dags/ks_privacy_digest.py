"""
### ks_privacy_digest: the privacy officer's week, in one message

Every Monday at 07:00 UTC, for the seven days before: per source how many records were erased,
redacted and held (legal hold), how many data-subject requests are open, were closed, and are or
were late, and the audit chain's length and head (its full check, as `ks_audit_verify` runs it
daily).
Sent by e-mail to the `privacy_officer` in Airflow variable `ks_people` and to the chat channel;
counts and a link only, never a name, address or other personal value. Reads the audit database
(connection `ks_audit_db`) and changes nothing. See docs/notifications.md.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from ks_privacy.dag_support import daily_dag_args
from ks_privacy.notify import reports


@dag(**daily_dag_args(__doc__, ["digest"], schedule="0 7 * * 1"))
def ks_privacy_digest():
    task(reports.send_weekly_digest, task_id="send_digest")()


ks_privacy_digest()
