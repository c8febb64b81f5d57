"""The checks a trigger form's schema cannot make: every malformed request is refused with the
field and a reason, and no pattern or partial address ever passes as a person."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ks_privacy.request_params import InvalidRequest, check_changes, company_today, validate

TODAY = date(2026, 11, 25)
GOOD = {
    "subject_email": "Jan.Jansen@Example.nl ",
    "request_ref": "REQ-2026-0042",
    "received_on": "2026-11-20",
    "identity_verified": True,
    "identity_verified_by": "Olga Ops",
    "dry_run": False,
    "reason": "minor",
}


def test_a_good_request_is_normalised():
    params = validate(GOOD, TODAY, with_reason=True)
    assert params.email == "jan.jansen@example.nl"
    assert params.received_on == date(2026, 11, 20)
    assert params.reason == "minor"
    assert "jan" not in repr(params)


BAD_EMAILS = [
    None,
    "",
    "   ",
    42,
    "*@example.nl",
    "jan*@example.nl",
    "%@example.nl",
    "jan%@example.nl",
    "?an@example.nl",
    "example.nl",
    "@example.nl",
    "jan@",
    "jan",
    "jan@example",
    "jan@localhost",
    "jan@@example.nl",
    "jan@example@nl",
    "jan @example.nl",
    "jan@exa mple.nl",
    "jan@example.nl, piet@example.nl",
    "jan@example.nl;piet@example.nl",
    "jan@example..nl",
    "jan@.example.nl",
    ".jan@example.nl",
    "jan.@example.nl",
    "jan@example.n",
    "jan@[127.0.0.1]",
    '"jan"@example.nl',
    "jan@exam\nple.nl",
    "j\tan@example.nl",
    "<jan@example.nl>",
    "mailto:jan@example.nl",
    "jan@example.nl/",
    "a" * 250 + "@example.nl",
    "jan@-example.nl",
    "jan@example-.nl",
    "(jan)@example.nl",
    "jan@exam_ple.nl",
    "*",
    "%",
    "@",
    "*@*",
    "jan@*.nl",
    "jan@example.*",
    "[a-z]*@example.nl",
    "^jan@example.nl$",
    "jan|piet@example.nl",
]


@pytest.mark.parametrize("email", BAD_EMAILS)
def test_malformed_addresses_are_refused(email):
    with pytest.raises(InvalidRequest) as refusal:
        validate({**GOOD, "subject_email": email}, TODAY)
    assert refusal.value.field == "subject_email"
    assert refusal.value.reason


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("request_ref", "", "REQ-2026-0042"),
        ("request_ref", "req-2026-1", "REQ-2026-0042"),
        ("request_ref", "Jan Jansen", "no names"),
        ("request_ref", "REQ-26-1", "REQ-2026-0042"),
        ("request_ref", None, "REQ-2026-0042"),
        ("received_on", "2030-01-01", "future"),
        ("received_on", "2018-05-21", "before the privacy statement"),
        ("received_on", "25-11-2026", "YYYY-MM-DD"),
        ("received_on", "", "YYYY-MM-DD"),
        ("received_on", "yesterday", "YYYY-MM-DD"),
        ("identity_verified", False, "redacted ID copy"),
        ("identity_verified", "yes", "must be true"),
        ("identity_verified", None, "must be true"),
        ("identity_verified_by", "", "staff member"),
        ("identity_verified_by", "x", "staff member"),
        ("identity_verified_by", "olga@klantenscoren.nl", "staff member"),
        ("identity_verified_by", None, "staff member"),
        ("dry_run", "no", "true or false"),
        ("reason", "because", "one of"),
    ],
)
def test_other_fields_are_refused_by_name(field, value, reason):
    with pytest.raises(InvalidRequest) as refusal:
        validate({**GOOD, field: value}, TODAY, with_reason=True)
    assert refusal.value.field == field
    assert reason in str(refusal.value)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({}, "changes"),
        ({"first_name": ""}, "changes"),
        ({"phone": "call me"}, "new_phone"),
        ({"first_name": "J4n"}, "new_first_name"),
        ({"last_name": "jan@example.nl"}, "new_last_name"),
        ({"email": "*@example.nl"}, "new_email"),
        ({"email": "a" * 65 + "@example.nl"}, "new_email"),
        ({"address": "x" * 300}, "new_address"),
        ({"shoe_size": "44"}, "shoe_size"),
    ],
)
def test_rectification_changes_are_checked(changes, field):
    with pytest.raises(InvalidRequest) as refusal:
        check_changes(changes)
    assert refusal.value.field == field


def test_good_changes_are_cleaned():
    assert check_changes({"phone": " +31 6 1234 5678 ", "email": "New@Example.nl", "x": None}) == {
        "phone": "+31 6 1234 5678",
        "email": "new@example.nl",
    }


def test_a_new_address_equal_to_the_current_one_is_no_change():
    with pytest.raises(InvalidRequest) as refusal:
        check_changes({"email": " JAN@example.nl"}, current_email="jan@example.nl")
    assert refusal.value.field == "new_email" and "nothing to change" in refusal.value.reason


@pytest.mark.parametrize(
    ("local", "domain_labels", "accepted"),
    [
        ("j" * 64, 1, True),  # RFC 5321: a local part of at most 64 octets
        ("j" * 65, 1, False),
        ("j" * 96, 1, False),  # what ops got through: a 96-character local part
        ("jan", 3, True),  # 3 + 1 + 3 * 62 + 10 = 200
        ("j" * 60, 4, False),  # 60 + 1 + 4 * 62 + 10 = 319: longer than 254 in all
    ],
)
def test_addresses_longer_than_the_standard_allows_are_refused(local, domain_labels, accepted):
    address = f"{local}@" + "".join(("d" * 61) + "." for _ in range(domain_labels)) + "example.nl"
    if accepted:
        assert validate({**GOOD, "subject_email": address}, TODAY).email == address
        return
    with pytest.raises(InvalidRequest) as refusal:
        validate({**GOOD, "subject_email": address}, TODAY)
    assert refusal.value.field == "subject_email"
    assert "64" in refusal.value.reason or "254" in refusal.value.reason


def test_today_is_the_company_s_calendar_day():
    """00:30 in Amsterdam on 25 November is 23:30 UTC on the 24th: a request received that day
    is not "in the future"."""
    just_after_midnight = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)
    today = company_today("Europe/Amsterdam", just_after_midnight)
    assert today == date(2026, 11, 25)
    assert validate({**GOOD, "received_on": "2026-11-25"}, today).received_on == today
    summer = datetime(2026, 6, 30, 22, 30, tzinfo=UTC)  # 00:30 CEST (UTC+2)
    assert company_today("Europe/Amsterdam", summer) == date(2026, 7, 1)
    with pytest.raises(InvalidRequest, match="future"):
        validate({**GOOD, "received_on": "2026-11-26"}, today)
