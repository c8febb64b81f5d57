"""Exceptions and log lines from hooks and adapters never carry personal data or credentials:
task logs, Airflow's UI and alerting mails show them to people who may not see the data."""

from __future__ import annotations

import logging
import traceback

import pytest

from ks_privacy.hooks.vendor_http import VendorError, VendorNotFound, VendorRetryable, _safe_detail
from ks_privacy.sources.base import ScanWindow

ADDRESS = "jan@xs4all.nl"


def full_text(exc: BaseException) -> str:
    """What a task log shows of an exception: its message and those of the exceptions it was
    raised from or during (as the traceback prints them), not the code lines."""
    parts = []
    current: BaseException | None = exc
    while current is not None:
        parts.append("".join(traceback.format_exception_only(current)))
        chained = current.__cause__
        if chained is None and not current.__suppress_context__:
            chained = current.__context__
        current = chained
    return "\n".join(parts)


def assert_clean(text: str, *secrets: str) -> None:
    assert "@" not in text and "%40" not in text, text
    for secret in secrets:
        assert secret not in text, secret


def test_safe_detail_drops_addresses_and_numbers():
    text = "Contact jan@xs4all.nl (id 12345, phone 0612345678, key ab12cd) was not found"
    assert _safe_detail(text) == "Contact (id phone key was not found"
    assert len(_safe_detail("word " * 100)) <= 160


@pytest.mark.parametrize(
    ("source_name", "service", "conn_id", "two_tries"),
    [
        ("activecampaign", "activecampaign", "activecampaign_default", {"retry_attempts": 2}),
        ("google_contacts", "google", "google_contacts_default", {"num_retries": 1}),
        ("tawk", "tawk", "tawk_default", {"retry_attempts": 2}),
    ],
)
def test_a_search_that_keeps_failing_names_no_address(
    vendors, build, set_conn_extra, caplog, source_name, service, conn_id, two_tries
):
    """requests' own errors print the URL with its query string (ActiveCampaign's `email=`
    filter): after the last retry the task must fail with our message, not theirs."""
    set_conn_extra(conn_id, **two_tries)
    vendors.control(service, "faults", {"rate": 1.0, "kinds": ["reset"], "seed": 1})
    source = build(source_name)
    caplog.set_level(logging.DEBUG, logger="ks_privacy")
    with pytest.raises(VendorRetryable) as raised:
        source.find(ADDRESS)
    assert raised.value.status is None and "connection failed" in str(raised.value)
    assert_clean(full_text(raised.value), "xs4all", vendors.sandbox.ac_token)
    assert_clean(caplog.text, "xs4all")


def test_a_timeout_names_no_address(vendors, build, set_conn_extra):
    set_conn_extra("activecampaign_default", retry_attempts=1, timeout=0.2)
    vendors.control(
        "activecampaign", "faults", {"rate": 1.0, "kinds": ["slow"], "slow_seconds": 0.5}
    )
    with pytest.raises(VendorRetryable) as raised:
        build("activecampaign").find(ADDRESS)
    assert "no answer within 0.2s" in str(raised.value)
    assert_clean(full_text(raised.value), "xs4all")


def test_vendor_error_bodies_are_not_repeated(vendors, build):
    """ActiveCampaign refuses an invalid address with a 422 whose body describes it; the error
    keeps the vendor's code only."""
    source = build("activecampaign")
    with pytest.raises(VendorError) as raised:
        source.rectify("1", {"email": f"geen adres {ADDRESS}"})
    assert raised.value.status == 422 and raised.value.detail == "email_invalid"
    assert_clean(full_text(raised.value), "xs4all", "geen adres")


def test_not_found_names_no_record_content(vendors, build):
    google = build("google_contacts")
    with pytest.raises(VendorNotFound) as raised:
        google.hook.get_person("people/c4611686018427387905", "names,emailAddresses")
    assert str(raised.value) == "Google People get person failed with HTTP 404: NOT_FOUND"
    tawk = build("tawk")
    with pytest.raises(VendorNotFound) as raised:
        tawk.hook.get_chat("ffffffffffffffffffffffff")
    assert str(raised.value) == "Tawk chat.get failed with HTTP 404: not_found"
    assert "ffffff" not in full_text(raised.value)


def test_scans_and_erasures_log_no_personal_data(vendors, build, caplog):
    caplog.set_level(logging.DEBUG)
    # seed 54: the second request fails once, the rest go through
    vendors.control("activecampaign", "faults", {"rate": 0.3, "kinds": ["500"], "seed": 54})
    source = build("activecampaign")
    emails = [e for _, e in vendors.sql("SELECT email, ac_email FROM seed_people") if e]
    list(source.scan(ScanWindow()))
    source.find(emails[0])
    source.erase(["1", "2"])
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("ks_privacy"))
    assert "retrying" in ours  # the faults were met and logged
    assert_clean(ours)
