"""Our hooks as Airflow's UI meets them: the Test button (Connection.test_connection, which the
REST API's connection test calls) makes one real call against the sandbox and says plainly
whether the credentials work; the connection form (`conn-fields`) lists every extra a hook reads;
each connection has one retry setting, and a bad extra is refused by name."""

from __future__ import annotations

import json

import airflow.sdk.definitions.connection as sdk_connection
import pytest
from airflow.models.connection import Connection
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ks_privacy import get_provider_info
from ks_privacy.hooks.activecampaign import ActiveCampaignHook
from ks_privacy.hooks.google_contacts import GoogleContactsHook
from ks_privacy.hooks.tawk import TawkHook
from ks_privacy.hooks.vendor_http import VendorError, VendorRetryable

# connection type -> (default connection id, sandbox service, hook class)
HOOKS = {
    "activecampaign": ("activecampaign_default", "activecampaign", ActiveCampaignHook),
    "google_contacts": ("google_contacts_default", "google", GoogleContactsHook),
    "tawk": ("tawk_default", "tawk", TawkHook),
}
# What GoogleBaseHook itself reads to find credentials: the Google provider's options, not ours
# (our form offers the two that work with domain-wide delegation: keyfile_dict and key_path).
GOOGLE_PROVIDER_CREDENTIALS = {
    "client_id",
    "client_secret",
    "credential_config_file",
    "idp_extra_params",
    "idp_issuer_url",
    "impersonation_chain",
    "is_anonymous",
    "key_secret_name",
    "key_secret_project_id",
    "project",
    "quota_project_id",
}
REFUSED = {"google_contacts": {"retry_attempts"}}  # read only to refuse it (one retry setting)


def conn_fields(conn_type: str) -> set[str]:
    (entry,) = [
        c for c in get_provider_info()["connection-types"] if c["connection-type"] == conn_type
    ]
    return set(entry["conn-fields"])


def ui_test(conn_type: str) -> tuple[bool, str]:
    """What the UI's Test button runs: the hook the providers manager registers for the type,
    on the connection id, then its test_connection."""
    conn_id = HOOKS[conn_type][0]
    return Connection(conn_id=conn_id, conn_type=conn_type).test_connection()


def calls(vendors, service: str) -> list[tuple[str, int]]:
    return [(r["route"], r["status"]) for r in vendors.requests_made(service)]


@pytest.mark.parametrize("conn_type", sorted(HOOKS))
def test_the_test_button_passes_with_good_credentials(vendors, conn_type):
    ok, message = ui_test(conn_type)
    assert ok, message
    assert "answered" in message
    service = HOOKS[conn_type][1]
    api_calls = [c for c in calls(vendors, service) if c[0] != "/token"]
    assert len(api_calls) == 1 and api_calls[0][1] == 200


@pytest.mark.parametrize(
    ("conn_type", "status"), [("activecampaign", 403), ("tawk", 401)], ids=["ac", "tawk"]
)
def test_the_test_button_fails_at_once_with_a_wrong_key(vendors, set_conn, conn_type, status):
    conn_id, service, _ = HOOKS[conn_type]
    set_conn(conn_id, password="not-the-key")
    ok, message = ui_test(conn_type)
    assert not ok
    assert f"HTTP {status}" in message and "credentials refused" in message
    assert "not-the-key" not in message
    assert len(calls(vendors, service)) == 1  # no retries: the button answers at once


@pytest.mark.parametrize("conn_type", ["activecampaign", "tawk"])
def test_the_test_button_does_not_retry_a_vendor_fault(vendors, conn_type):
    """A task retries 5xx for minutes; the button reports the first one."""
    service = HOOKS[conn_type][1]
    vendors.control(service, "faults", {"rate": 1.0, "kinds": ["503"], "seed": 1})
    ok, message = ui_test(conn_type)
    assert not ok and "HTTP 503" in message
    assert len(calls(vendors, service)) == 1


def test_the_test_button_fails_for_a_tawk_property_the_key_cannot_read(vendors, set_conn_extra):
    set_conn_extra("tawk_default", property_id="another-property")
    ok, message = ui_test("tawk")
    assert not ok and "chat.list failed with HTTP 404" in message


def test_the_test_button_fails_when_google_refuses_the_key(vendors, set_conn_extra):
    info = dict(vendors.sandbox.google_service_account_info)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    info["private_key"] = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    set_conn_extra("google_contacts_default", keyfile_dict=json.dumps(info))
    ok, message = ui_test("google_contacts")
    assert not ok
    assert "credentials refused" in message and "subject" in message
    assert "PRIVATE KEY" not in message and vendors.sandbox.google_subject not in message
    assert calls(vendors, "google") == [("/token", 400)]  # no People API call without a token


def test_the_test_button_names_a_missing_subject(vendors, monkeypatch):
    spec = json.loads(vendors.sandbox.airflow_env()["AIRFLOW_CONN_GOOGLE_CONTACTS_DEFAULT"])
    del spec["extra"]["subject"]
    monkeypatch.setenv("AIRFLOW_CONN_GOOGLE_CONTACTS_DEFAULT", json.dumps(spec))
    ok, message = ui_test("google_contacts")
    assert not ok and "needs extra `subject`" in message
    assert calls(vendors, "google") == []


@pytest.fixture
def extras_read(monkeypatch):
    """The set of extras hooks read from now on (every connection's extra_dejson records)."""
    read: set[str] = set()
    original = sdk_connection.Connection.extra_dejson

    class Recording(dict):
        def note(self, key):
            read.add(str(key).removeprefix("extra__google_cloud_platform__"))

        def get(self, key, default=None):
            self.note(key)
            return super().get(key, default)

        def __getitem__(self, key):
            self.note(key)
            return super().__getitem__(key)

        def __contains__(self, key):
            self.note(key)
            return super().__contains__(key)

    monkeypatch.setattr(
        sdk_connection.Connection,
        "extra_dejson",
        property(lambda self: Recording(original.fget(self))),
    )
    return read


@pytest.mark.parametrize("conn_type", sorted(HOOKS))
def test_the_form_lists_every_extra_the_hook_reads(vendors, extras_read, conn_type):
    hook = HOOKS[conn_type][2]()
    hook.api.request  # noqa: B018  the session a task uses: pacing, timeout, retries
    assert hook.test_connection()[0]
    ours = extras_read - REFUSED.get(conn_type, set())
    if conn_type == "google_contacts":
        ours -= GOOGLE_PROVIDER_CREDENTIALS
    assert {"requests_per_second", "timeout", "retry_max_seconds"} <= extras_read
    assert ours - conn_fields(conn_type) == set()


def test_the_google_form_shows_one_retry_setting():
    fields = conn_fields("google_contacts")
    assert "num_retries" in fields and "retry_attempts" not in fields
    for conn_type in ("activecampaign", "tawk"):
        assert "retry_attempts" in conn_fields(conn_type)
        assert "num_retries" not in conn_fields(conn_type)


@pytest.mark.parametrize(("retries", "expected_calls"), [(0, 1), (2, 3)])
def test_google_honours_num_retries(vendors, set_conn_extra, retries, expected_calls):
    set_conn_extra("google_contacts_default", num_retries=retries)
    hook = GoogleContactsHook()
    hook.total()  # the access token, before the faults
    vendors.control("google", "faults", {"rate": 1.0, "kinds": ["503"], "seed": 1})
    with pytest.raises(VendorRetryable):
        hook.total()
    failed = [c for c in calls(vendors, "google") if c[1] == 503]
    assert failed == [("/v1/people/me/connections", 503)] * expected_calls


def test_google_refuses_the_other_hooks_retry_setting(vendors, set_conn_extra):
    set_conn_extra("google_contacts_default", retry_attempts=3)
    with pytest.raises(VendorError) as raised:
        GoogleContactsHook().total()
    assert "sets extra `retry_attempts`" in str(raised.value) and "num_retries" in str(raised.value)


@pytest.mark.parametrize(
    ("conn_type", "field"),
    [
        (conn_type, field)
        for conn_type in sorted(HOOKS)
        for field in ("requests_per_second", "timeout", "max_in_flight")
        if (conn_type, field) != ("tawk", "max_in_flight")  # Tawk: reads, one at a time
    ],
)
def test_a_bad_number_in_an_extra_is_refused_by_name(vendors, set_conn_extra, conn_type, field):
    conn_id = HOOKS[conn_type][0]
    set_conn_extra(conn_id, **{field: "fast"})
    ok, message = ui_test(conn_type)
    assert not ok
    assert f"connection {conn_id!r} extra `{field}` must be" in message
    assert "fast" not in message
