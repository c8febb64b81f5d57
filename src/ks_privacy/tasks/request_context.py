"""What every task of a request run needs: the run's reference (its only parameter besides
`dry_run`), the register, and the request's personal values read from the vault, masked in the
task log before anything can print them. The values stay in the task's memory: never in XCom,
logs, exceptions or HITL texts."""

from __future__ import annotations

from urllib.parse import quote, quote_plus

from airflow.sdk import get_current_context
from airflow.sdk.exceptions import AirflowFailException
from airflow.sdk.log import mask_secret

from ks_privacy import runtime
from ks_privacy.evidence import AuditTrail
from ks_privacy.pseudonym import pseudonymiser_from_airflow
from ks_privacy.register import Register
from ks_privacy.vault import AddressGone, RequestSecret, Vault


def mask(value: str) -> None:
    """Mask a personal value in task logs as typed, normalised and as it appears in a URL's
    query (a vendor lookup puts the address there; urllib3 logs URLs at DEBUG)."""
    for form in {value, value.strip(), value.strip().lower()}:
        if form:
            mask_secret(form)
            mask_secret(quote(form, safe=""))
            mask_secret(quote_plus(form))


def run_ref() -> str:
    """The run's request reference (the `check` task has validated it)."""
    return str(get_current_context()["params"]["request_ref"]).strip()


def dry_run() -> bool:
    return get_current_context()["params"].get("dry_run") is True


def register(trail: AuditTrail | None = None) -> Register:
    return Register(trail or runtime.audit_trail(), runtime.policy().request_deadline_days)


def read_secret(trail: AuditTrail, request_ref: str) -> RequestSecret:
    """The request's address (and new values), masked before this returns."""
    try:
        secret = Vault(trail.engine, pseudonymiser_from_airflow()).read(request_ref)
    except AddressGone as gone:
        raise AirflowFailException(f"{gone}: nothing can be done for it") from None
    for value in secret.values():
        mask(value)
    return secret
