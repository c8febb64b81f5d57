"""Who counts as an auditor under each auth manager, and which query strings carry an address.
Fast: no server (tests/auditors/test_page.py runs the real api-server app)."""

from __future__ import annotations

import pytest
from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

from ks_privacy.audit import access


class CustomViewManager:
    """Stands for FAB or Keycloak: both answer `is_authorized_custom_view` from their own
    permission store; this one grants what `granted` lists and records what it was asked."""

    def __init__(self, granted: set[tuple[str, str, str]]):
        self.granted = granted
        self.asked: list[tuple[str, str, str]] = []

    def is_authorized_custom_view(self, *, method, resource_name, user):
        self.asked.append((method, resource_name, user.get_name()))
        return (method, resource_name, user.get_name()) in self.granted


def _use(monkeypatch, manager) -> None:
    monkeypatch.setattr("airflow.api_fastapi.app.get_auth_manager", lambda: manager)


def test_fab_or_keycloak_decide_through_the_custom_view(monkeypatch):
    view = "KS Privacy Audit"
    manager = CustomViewManager(
        {("GET", view, "ann"), ("POST", view, "ann"), ("GET", view, "reader")}
    )
    _use(monkeypatch, manager)
    ann = SimpleAuthManagerUser(username="ann", role=None)
    reader = SimpleAuthManagerUser(username="reader", role=None)
    admin_elsewhere = SimpleAuthManagerUser(username="root", role="admin")
    assert access.is_auditor(ann, "GET") and access.is_auditor(ann, "POST")
    assert access.is_auditor(reader, "GET") and not access.is_auditor(reader, "POST")
    assert not access.is_auditor(admin_elsewhere, "GET")  # a role name means nothing here
    assert ("POST", "KS Privacy Audit", "ann") in manager.asked


def test_simple_auth_manager_admins_and_named_users_only(monkeypatch):
    _use(monkeypatch, SimpleAuthManager())
    monkeypatch.setenv("AIRFLOW__KS_PRIVACY__AUDITORS", "olga, piet")
    for name, role, allowed in [
        ("any", "admin", True),
        ("olga", "viewer", True),
        ("piet", "op", True),
        ("viewer", "viewer", False),
        ("user", "user", False),
        ("op", "op", False),
    ]:
        user = SimpleAuthManagerUser(username=name, role=role)
        assert access.is_auditor(user, "GET") is allowed, name


@pytest.mark.parametrize(
    ("query", "carries"),
    [
        (b"subject=ps_123&source=tawk", False),
        (b"ref=people%2Fc123", False),
        (b"email=anna@example.nl", True),
        (b"email=anna%40example.nl", True),
        (b"email=anna%2540example.nl", True),
        (b"q=Anna.De.Vries%40Example.NL&x=1", True),
        (b"email=anna+de+vries%40example.nl", True),
    ],
)
def test_an_address_is_spotted_in_any_encoding(query, carries):
    assert access.carries_address(query) is carries
