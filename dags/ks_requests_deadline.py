"""
### ks_requests_deadline: every request answered within four weeks

The privacy statement promises an answer "zo snel mogelijk, maar binnen vier weken". Daily, this
DAG lists the register of data-subject requests (table `ks_requests`): each request with its
received date, its deadline (received + 28 days), its status, and how many days are left. It
fails (so Airflow's alerting fires) while any open request is past its deadline, and lists the
ones due within 7 days so they get done first. Requests closed late stay visible as such.
**notify_deadlines** tells ops and the privacy officer (Airflow variable `ks_people`) of each
open request 7 days (`human_steps.deadline_warning_days`) before its deadline, and of each
overdue one every day (request references and dates only).
"""

from __future__ import annotations

from airflow.sdk import dag, task

from ks_privacy.dag_support import daily_dag_args
from ks_privacy.notify import reports
from ks_privacy.tasks import subject_requests


@dag(**daily_dag_args(__doc__, ["request"]))
def ks_requests_deadline():
    task(subject_requests.deadline_report, task_id="deadline_report", retries=0)()
    task(reports.send_deadline_notices, task_id="notify_deadlines")()


ks_requests_deadline()
