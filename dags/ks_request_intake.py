"""
### ks_request_intake: requests that arrive in the privacy mailbox (every 15 minutes)

The privacy statement asks people to send every request (access, rectification, erasure,
portability, withdrawal of consent, objection, a report about a minor) to the team mailbox with
a redacted copy of their ID. This DAG reads that mailbox over IMAP (connection
`ks_privacy_mailbox`) and, for each message it has not handled before (keyed by its
Message-ID, so overlapping or repeated runs handle it once):

**read_mailbox**: recognises the request from Dutch and English wording and registers it with
`received_on` from the message (the four weeks run from receipt), the sender's address in the
vault, status `awaiting_identity`, and whether an ID copy is attached; acknowledges it to the
sender (Dutch and English: reference and deadline) and tells ops. Spam, auto-replies, unclear
or broken messages, several or no senders, a request naming someone else, an objection: left
in the mailbox, and ops are told why. → **start_identity_checks**: one `ks_request_identity`
run per request waiting for its identity check (a person confirms it; then the request runs
and the ID copy leaves the mailbox). **remind_identity**: ops are reminded of checks still
waiting. **mailbox_retention**: a request's messages are deleted
`intake.mailbox_retention_days` after it closed. A run whose reading failed fails (the rest
waits for the next run, 15 minutes later).
"""

from __future__ import annotations

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import dag, task

from ks_privacy.dag_support import daily_dag_args
from ks_privacy.intake import tasks as intake


@dag(**daily_dag_args(__doc__, ["request", "intake"], schedule="*/15 * * * *"))
def ks_request_intake():
    read = task(intake.read_mailbox, task_id="read_mailbox", retries=1)()
    runs = task(intake.identity_runs, task_id="identity_runs")()
    start = TriggerDagRunOperator.partial(
        task_id="start_identity_checks",
        trigger_dag_id=intake.IDENTITY_DAG,
        skip_when_already_exists=True,
        retries=1,
    ).expand_kwargs(runs)
    remind = task(intake.remind_identity, task_id="remind_identity")()
    retention = task(intake.mailbox_retention, task_id="mailbox_retention")()
    read >> runs >> start
    read >> [remind, retention]


ks_request_intake()
