"""The suite's Airflow variables, read the same way from a task, the api-server's pages and a
plain CLI outside Airflow: env `AIRFLOW_VAR_<NAME>` first (what Airflow's own backends read
first, and the only source where no Airflow configuration is reachable), then the variable
backend (the secrets backend, or the metadata database inside Airflow's processes)."""

from __future__ import annotations

import contextlib
import os


class VariableUnreachable(RuntimeError):
    """No variable backend answers here (e.g. a CLI without Airflow's configuration)."""


def variable(name: str) -> str | None:
    """The variable's value, None when it is not set; VariableUnreachable when nothing answers."""
    value = os.environ.get("AIRFLOW_VAR_" + name.upper())
    if value:
        return value
    try:
        from airflow.sdk import Variable

        return Variable.get(name, default=None)
    except Exception as exc:  # the backends raise several kinds where none is configured
        raise VariableUnreachable(
            f"cannot read Airflow variable {name} ({type(exc).__name__}); set env "
            f"AIRFLOW_VAR_{name.upper()}"
        ) from None


def optional_variable(name: str) -> str | None:
    """The variable's value; None when it is not set or nothing answers (a default applies)."""
    try:
        return variable(name)
    except VariableUnreachable:
        return None


def storage_base_url(name: str, default_folder: str) -> str:
    """A storage base from variable `name` (a local folder or a bucket URL such as
    `s3://aws_default@bucket/ks/`), else `$AIRFLOW_HOME/<default_folder>/`; always a URL that
    ends with a slash, so names join below it."""
    value = optional_variable(name)
    if not value:
        home = os.environ.get("AIRFLOW_HOME", os.path.expanduser("~/airflow"))
        value = f"{home}/{default_folder}/"
    if "://" not in value:
        value = "file://" + os.path.abspath(value)
    return value if value.endswith("/") else value + "/"


def mask_in_task_logs(secret: str) -> None:
    """Mask a secret in this task's log; outside a task there is no log to mask."""
    with contextlib.suppress(Exception):
        from airflow.sdk.log import mask_secret

        mask_secret(secret)
