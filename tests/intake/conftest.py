"""The intake tests' world: a real IMAP server (pymap) holding the privacy mailbox, the real
SMTP server of the notification tests for acknowledgements and ops' messages, the sandbox
vendors and the PostgreSQL audit database."""

from __future__ import annotations

import pytest

from tests.fixtures.people import people_config


@pytest.fixture
def intake_world(vendors, imap_server, mailbox, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_KS_PRIVACY_MAILBOX", imap_server.airflow_connection())
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", mailbox.airflow_connection())
    monkeypatch.setenv("AIRFLOW_VAR_KS_PEOPLE", people_config("smtp_default"))
    return vendors, imap_server, mailbox
