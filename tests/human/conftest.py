"""Notifications for real: Airflow variable `ks_people` names the staff of tests/fixtures/people.py
with both channels, Airflow's SMTP connection points at the test's SMTP server and the chat
connection at the test's webhook server; links use a base URL a test can look for."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.fixtures.mail import Mailbox
from tests.fixtures.people import people_config
from tests.fixtures.webhook import ChatWebhook

BASE_URL = "http://airflow.klantenscoren.test:8080"


@dataclass
class Told:
    mail: Mailbox
    chat: ChatWebhook


@pytest.fixture
def told(mailbox, chat_webhook, monkeypatch) -> Told:
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", mailbox.airflow_connection())
    monkeypatch.setenv("AIRFLOW_CONN_KS_CHAT", chat_webhook.airflow_connection())
    monkeypatch.setenv("AIRFLOW_VAR_KS_PEOPLE", people_config("smtp_default", "ks_chat"))
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", BASE_URL)
    return Told(mailbox, chat_webhook)


@pytest.fixture
def triggered_by(monkeypatch):
    """triggered_by("rita.requester"): the next `dag.test()` run records that user as the one
    who triggered it, as a REST trigger by that user does (dag.test itself records "dag_test")."""
    import airflow.models.dagrun as dagrun_module

    original = dagrun_module.get_or_create_dagrun

    def set_user(user: str) -> None:
        def create(*args, **kwargs):
            kwargs["triggering_user_name"] = user
            return original(*args, **kwargs)

        monkeypatch.setattr(dagrun_module, "get_or_create_dagrun", create)

    return set_user
