"""Validation of data-subject request parameters beyond what the trigger form's JSON schema can
say. A request must be impossible to misuse by a typo: every refusal names the field and the
reason, and a pattern such as `*@example.nl` or a bare domain is never accepted as an address
(which some vendor searches would turn into a match on many people).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from email_validator import EmailNotValidError, validate_email

from ks_privacy.pseudonym import normalise_email

STATEMENT_DATE = date(2018, 5, 22)  # the privacy statement's version: no request predates it
REQUEST_REF = re.compile(r"^[A-Z]{2,6}-\d{4}-\d{1,6}$")  # e.g. REQ-2026-0042: no names in refs
PATTERN_CHARACTERS = set("*?%[]^$\\|(){}<>,;:\"'`=!#&~/")
REASONS = ("request", "minor", "consent_withdrawn", "objection")
RECTIFIABLE = ("first_name", "last_name", "phone", "address", "email")
PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{5,20}$")


class InvalidRequest(ValueError):
    """A refused request: the field and a reason an operator can act on."""

    def __init__(self, field_name: str, reason: str):
        self.field, self.reason = field_name, reason
        super().__init__(f"refused: `{field_name}` {reason}")


@dataclass(frozen=True)
class RequestParams:
    email: str = field(repr=False)  # normalised; never logged
    request_ref: str
    received_on: date
    verified_by: str
    dry_run: bool
    reason: str = "request"
    changes: dict[str, str] = field(default_factory=dict, repr=False)


def check_email(value: object, field_name: str = "subject_email") -> str:
    """One real address, normalised; refuses patterns, partial addresses and lists."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(field_name, "is empty: give the person's e-mail address")
    text = value.strip()
    if len(text) > 254:
        raise InvalidRequest(field_name, "is longer than an e-mail address can be (254)")
    if any(c in PATTERN_CHARACTERS for c in text) or any(c.isspace() for c in text):
        raise InvalidRequest(
            field_name,
            "contains wildcard, separator or space characters: give exactly one address, "
            "not a pattern",
        )
    if text.count("@") != 1:
        raise InvalidRequest(field_name, "must contain exactly one @ (one whole address)")
    local, domain = text.split("@")
    if not local:
        raise InvalidRequest(field_name, "has nothing before the @: a domain is not a person")
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidRequest(field_name, f"is not a valid address ({exc})") from None
    if len(domain.rsplit(".", 1)[-1]) < 2:
        raise InvalidRequest(field_name, "has no valid top-level domain after the last dot")
    return normalise_email(text)


def check_ref(value: object) -> str:
    if not isinstance(value, str) or not REQUEST_REF.match(value.strip()):
        raise InvalidRequest(
            "request_ref", "must look like REQ-2026-0042 (letters, year, number; no names)"
        )
    return value.strip()


def check_received(value: object, today: date) -> date:
    try:
        received = date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidRequest("received_on", "must be a date as YYYY-MM-DD") from None
    if received > today:
        raise InvalidRequest("received_on", f"is in the future (today is {today.isoformat()})")
    if received < STATEMENT_DATE:
        raise InvalidRequest(
            "received_on", f"is before the privacy statement of {STATEMENT_DATE.isoformat()}"
        )
    return received


def check_identity(verified: object, verified_by: object) -> str:
    if verified is not True:
        raise InvalidRequest(
            "identity_verified",
            "must be true: check the redacted ID copy first (photo, MRZ, document number and "
            "BSN blacked out); the copy itself is never uploaded or stored",
        )
    name = verified_by.strip() if isinstance(verified_by, str) else ""
    if len(name) < 2 or "@" in name or any(c.isdigit() for c in name):
        raise InvalidRequest(
            "identity_verified_by", "must name the staff member who checked the ID copy"
        )
    return name


def check_changes(changes: dict[str, object]) -> dict[str, str]:
    """Rectification: at least one field, each a plausible value of its kind."""
    given = {k: v for k, v in changes.items() if v not in (None, "")}
    if not given:
        raise InvalidRequest("changes", "are empty: give at least one field to correct")
    clean: dict[str, str] = {}
    for key, value in given.items():
        if key not in RECTIFIABLE:
            raise InvalidRequest(key, f"cannot be rectified (only {', '.join(RECTIFIABLE)})")
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            raise InvalidRequest(key, "must be a non-empty text of at most 200 characters")
        text = value.strip()
        if key == "email":
            text = check_email(text, "new_email")
        elif key == "phone" and not PHONE.match(text):
            raise InvalidRequest("phone", "is not a phone number (digits, spaces, + - ( ))")
        elif key in ("first_name", "last_name") and ("@" in text or any(c.isdigit() for c in text)):
            raise InvalidRequest(key, "looks like something other than a name")
        clean[key] = text
    return clean


def validate(params: dict, today: date, *, with_reason: bool = False) -> RequestParams:
    """All checks, in the order of the trigger form; the first problem is reported."""
    email = check_email(params.get("subject_email"))
    ref = check_ref(params.get("request_ref"))
    received = check_received(params.get("received_on"), today)
    verifier = check_identity(params.get("identity_verified"), params.get("identity_verified_by"))
    dry_run = params.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise InvalidRequest("dry_run", "must be true or false")
    reason = params.get("reason", "request") if with_reason else "request"
    if reason not in REASONS:
        raise InvalidRequest("reason", f"must be one of {', '.join(REASONS)}")
    return RequestParams(email, ref, received, verifier, dry_run, reason)
