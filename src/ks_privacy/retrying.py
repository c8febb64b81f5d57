"""Which failures Airflow retries: a task's `retry_policy` (Airflow 3.3's RetryPolicy).

Credential, key and configuration errors fail the task at once, with their own message: another
try meets the same token, key or file, and only delays the person who must fix it. Everything
else (a vendor's 429 or 5xx after the hook's own retries, a network fault, a busy database)
keeps Airflow's retries and their growing delay (DEFAULT_ARGS in ks_privacy.dag_support).

Cheap to import (DAG files use it at parse time): the exception classes are imported when a task
has failed, inside the worker.
"""

from __future__ import annotations

from airflow.sdk.definitions.retry_policy import RetryDecision, RetryPolicy


def permanent_failure(exc: BaseException) -> str | None:
    """Why retrying `exc` cannot help (credentials, key, configuration), or None."""
    from airflow.sdk.exceptions import AirflowNotFoundException

    from ks_privacy.hooks.vendor_http import VendorAuthError, VendorError
    from ks_privacy.notify.people import PeopleConfigError
    from ks_privacy.policy import PolicyError
    from ks_privacy.pseudonym import PseudonymKeyError

    kinds = (
        (VendorAuthError, "the vendor refused the credentials"),
        (PseudonymKeyError, "the pseudonym key is missing or too weak"),
        (PolicyError, "the retention policy is invalid"),
        (PeopleConfigError, "Airflow variable ks_people is missing or invalid"),
        (AirflowNotFoundException, "a connection or variable is not defined"),
    )
    for kind, why in kinds:
        if isinstance(exc, kind):
            return why
    if isinstance(exc, VendorError) and exc.operation == "configuration":
        return "the vendor connection is incomplete"  # the hooks' own configuration check
    return None


class FailFastOnPermanentErrors(RetryPolicy):
    """Fail at once on credential, key and configuration errors; Airflow's retries otherwise."""

    def evaluate(self, exception, try_number, max_tries, context=None) -> RetryDecision:
        why = permanent_failure(exception)
        if why:
            return RetryDecision.fail(reason=f"{why}: not retried")
        return RetryDecision.default()

    def serialize(self) -> dict:
        return {"__type": type(self).__name__}

    @classmethod
    def deserialize(cls, data: dict) -> FailFastOnPermanentErrors:
        return cls()
