"""Who answers human steps and who is told: Airflow variable `ks_people` (JSON), read when a task
or callback runs, never at DAG import.

A variable, not the policy file: the policy is the privacy statement as data and changes with
the statement; staff change with the organisation, and a new approver must not need a new
statement version or a deployment. A variable can live in the secrets backend, is read at the
moment a step starts waiting (so the assignment fits the day it is made), and changes in the UI.

    {
      "people": {"anna": {"name": "Anna de Vries", "email": "anna@klantenscoren.nl"}, ...},
      "approvers": ["anna", "pieter"],       # may approve an erasure (four eyes apply)
      "tawk_operators": ["olga"],            # delete Tawk chats by hand and confirm
      "guard_reviewers": ["olga"],           # look at a tripped guard (default: ops)
      "ops": ["olga"],                       # failed runs, deadlines
      "privacy_officer": ["pieter"],         # deadlines, weekly digest
      "email_connection": "smtp_default",    # Airflow SMTP connection, or null
      "chat_connection": "ks_chat"           # Slack-format incoming webhook connection, or null
    }

Keys of `people` are Airflow user ids (what the auth manager's `get_id()` returns: the user
name with the simple and FAB auth managers): they become the HITL steps' `assigned_users`.
"""

from __future__ import annotations

import json
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

VARIABLE = "ks_people"
ROLES = ("approvers", "tawk_operators", "guard_reviewers", "ops", "privacy_officer")


class PeopleConfigError(ValueError):
    """`ks_people` is missing or wrong: the message names the field. Retrying cannot help."""


class Person(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=80)]
    email: Annotated[str | None, Field(pattern=r"^[^@\s]+@[^@\s]+$")] = None


class People(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    people: dict[str, Person]
    approvers: list[str] = []
    tawk_operators: list[str] = []
    guard_reviewers: list[str] = []
    ops: list[str] = []
    privacy_officer: list[str] = []
    email_connection: str | None = None
    email_from: Annotated[str | None, Field(pattern=r"^[^@\s]+@[^@\s]+$")] = None
    chat_connection: str | None = None

    @model_validator(mode="after")
    def _roles_name_known_people(self) -> People:
        for role in ROLES:
            unknown = [uid for uid in getattr(self, role) if uid not in self.people]
            if unknown:
                raise ValueError(f"{role} lists {unknown}, who are not under `people`")
        return self

    def members(self, role: str) -> list[tuple[str, Person]]:
        """(user id, person) of a role; guard reviewers default to ops."""
        if role not in ROLES:
            raise PeopleConfigError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
        ids = getattr(self, role) or (self.ops if role == "guard_reviewers" else [])
        return [(uid, self.people[uid]) for uid in ids]

    def require(self, role: str) -> list[tuple[str, Person]]:
        """The members of a role that must not be empty (who answers a human step)."""
        found = self.members(role)
        if not found:
            raise PeopleConfigError(
                f"Airflow variable {VARIABLE} names nobody under `{role}`, so nobody could "
                "answer this step; add their Airflow user ids (docs/notifications.md)"
            )
        return found

    @property
    def channels(self) -> list[str]:
        configured = (("email", self.email_connection), ("chat", self.chat_connection))
        return [channel for channel, conn in configured if conn]

    def identities(self, *names: str | None) -> set[str]:
        """Every way to name the person(s) `names` refer to: what was given, and the id and name
        of a configured person it matches (so "Olga Ops" on a form and user `olga` are one)."""
        found = {_fold(n) for n in names if n and n.strip()}
        for uid, person in self.people.items():
            if found & {_fold(uid), _fold(person.name)}:
                found |= {_fold(uid), _fold(person.name)}
        return found


def parse_people(text: str) -> People:
    """Validate the variable's JSON; every problem names the field."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise PeopleConfigError(f"Airflow variable {VARIABLE} is not JSON: {exc}") from None
    try:
        return People.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: "
            f"{e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise PeopleConfigError(f"Airflow variable {VARIABLE} is invalid: {problems}") from None


def load_people(required: bool = True) -> People | None:
    """The roles from Airflow variable `ks_people`; None when unset and not `required`."""
    from airflow.sdk import Variable

    text = Variable.get(VARIABLE, default=None)
    if not text:
        if not required:
            return None
        raise PeopleConfigError(
            f"Airflow variable {VARIABLE} is not set: nobody is assigned to answer human steps "
            "(approvers, Tawk operators) and nobody is told. Set it as docs/notifications.md says."
        )
    return parse_people(text)


def _fold(name: str) -> str:
    return " ".join(name.split()).casefold()
