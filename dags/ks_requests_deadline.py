"""
### ks_requests_deadline: every request answered within four weeks

The privacy statement promises an answer "zo snel mogelijk, maar binnen vier weken". Daily, this
DAG lists the register of data-subject requests (table `ks_requests`): each request with its
received date, its deadline (received + 28 days), its status, and how many days are left. It
fails (so Airflow's alerting fires) while any open request is past its deadline, and lists the
ones due within 7 days so they get done first. Requests closed late stay visible as such.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from ks_privacy.dag_support import daily_dag_args
from ks_privacy.tasks import subject_requests


@dag(**daily_dag_args(__doc__, ["request"]))
def ks_requests_deadline():
    task(subject_requests.deadline_report, task_id="deadline_report", retries=0)()


ks_requests_deadline()
