"""The checks a trigger form's schema cannot make: every malformed request is refused with the
field and a reason, and no pattern or partial address ever passes as a person."""

from __future__ import annotations

from datetime import date

import pytest

from ks_privacy.request_params import InvalidRequest, check_changes, validate

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
        ({"phone": "call me"}, "phone"),
        ({"first_name": "J4n"}, "first_name"),
        ({"last_name": "jan@example.nl"}, "last_name"),
        ({"email": "*@example.nl"}, "new_email"),
        ({"address": "x" * 300}, "address"),
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
