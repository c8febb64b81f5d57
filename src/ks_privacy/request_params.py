"""Validation of a data-subject request as it is registered (ks_privacy.registration) and of the
parameters a request run is triggered with. A request must be impossible to misuse by a typo:
every refusal names the field and the reason, and a pattern such as `*@example.nl` or a bare
domain is never accepted as an address (which some vendor searches would turn into a match on
many people). Dates are the company's calendar days (the policy's `timezone`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from email_validator import EmailNotValidError, validate_email

from ks_privacy.pseudonym import normalise_email

STATEMENT_DATE = date(2018, 5, 22)  # the privacy statement's version: no request predates it
REQUEST_REF = re.compile(r"^[A-Z]{2,6}-\d{4}-\d{1,6}$")  # e.g. REQ-2026-0042: no names in refs
PATTERN_CHARACTERS = set("*?%[]^$\\|(){}<>,;:\"'`=!#&~/")
REASONS = ("request", "minor", "consent_withdrawn", "objection")
RECTIFIABLE = ("first_name", "last_name", "phone", "address", "email")
# the rectification's form fields, and the field each changes
CHANGE_PARAMS = {
    "new_first_name": "first_name",
    "new_last_name": "last_name",
    "new_phone": "phone",
    "new_address": "address",
    "new_email": "email",
}
PARAM_OF_CHANGE = {change: param for param, change in CHANGE_PARAMS.items()}
MAX_LOCAL_PART = 64  # RFC 5321 4.5.3.1.1
MAX_ADDRESS = 254  # RFC 5321 4.5.3.1.3 (256 octets of path, less the angle brackets)
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
    verified_by: str | None  # None: identity still to be checked (a request from the mailbox)
    dry_run: bool
    reason: str = "request"
    changes: dict[str, str] = field(default_factory=dict, repr=False)


def check_email(value: object, field_name: str = "subject_email") -> str:
    """One real address, normalised; refuses patterns, partial addresses and lists."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(field_name, "is empty: give the person's e-mail address")
    text = value.strip()
    if len(text) > MAX_ADDRESS:
        raise InvalidRequest(
            field_name, f"is longer than an e-mail address can be ({MAX_ADDRESS} characters)"
        )
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
    if len(local) > MAX_LOCAL_PART:
        raise InvalidRequest(
            field_name,
            f"has {len(local)} characters before the @; an address allows at most "
            f"{MAX_LOCAL_PART} (RFC 5321)",
        )
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


def company_today(timezone: str, now: datetime | None = None) -> date:
    """Today on the company's calendar (Europe/Amsterdam): a request received at 00:30 there is
    received today, although UTC still says yesterday."""
    return (now or datetime.now(ZoneInfo("UTC"))).astimezone(ZoneInfo(timezone)).date()


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


def check_changes(changes: dict[str, object], current_email: str | None = None) -> dict[str, str]:
    """Rectification: at least one field, each a plausible value of its kind (keys are the
    fields changed, refusals name the form field, e.g. `new_phone`). A new address equal to the
    current one is no change."""
    given = {k: v for k, v in changes.items() if v not in (None, "")}
    if not given:
        raise InvalidRequest("changes", "are empty: give at least one field to correct")
    clean: dict[str, str] = {}
    for key, value in given.items():
        if key not in RECTIFIABLE:
            raise InvalidRequest(key, f"cannot be rectified (only {', '.join(RECTIFIABLE)})")
        name = PARAM_OF_CHANGE[key]
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            raise InvalidRequest(name, "must be a non-empty text of at most 200 characters")
        text = value.strip()
        if key == "email":
            text = check_email(text, name)
            if current_email is not None and text == normalise_email(current_email):
                raise InvalidRequest(name, "is the address the request is for: nothing to change")
        elif key == "phone" and not PHONE.match(text):
            raise InvalidRequest(name, "is not a phone number (digits, spaces, + - ( ))")
        elif key in ("first_name", "last_name") and ("@" in text or any(c.isdigit() for c in text)):
            raise InvalidRequest(name, "looks like something other than a name")
        clean[key] = text
    return clean


def check_dry_run(value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidRequest("dry_run", "must be true or false")
    return value


def validate(
    params: dict, today: date, *, with_reason: bool = False, identity_pending: bool = False
) -> RequestParams:
    """All checks, in the order of the trigger form; the first problem is reported. With
    `identity_pending` (the mailbox intake) the identity is checked later, by a person, before
    anything is done: no verifier yet."""
    email = check_email(params.get("subject_email"))
    ref = check_ref(params.get("request_ref"))
    received = check_received(params.get("received_on"), today)
    verifier = (
        None
        if identity_pending
        else check_identity(params.get("identity_verified"), params.get("identity_verified_by"))
    )
    dry_run = check_dry_run(params.get("dry_run", False))
    reason = params.get("reason", "request") if with_reason else "request"
    if reason not in REASONS:
        raise InvalidRequest("reason", f"must be one of {', '.join(REASONS)}")
    return RequestParams(email, ref, received, verifier, dry_run, reason)
