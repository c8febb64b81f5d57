"""Lookup: "what happened to this person?", from an e-mail address to its pseudonym to its
evidence.

The address is only ever held in memory long enough to compute the pseudonym (HMAC-SHA256 with
the key in Airflow variable `ks_pseudonym_key`); it is never stored, logged or returned.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from ks_privacy.audit import store
from ks_privacy.pseudonym import KEY_VARIABLE, Pseudonymiser, PseudonymKeyError

MAX_EMAIL_LENGTH = 254


class NotAnEmail(ValueError):
    """The input does not look like an e-mail address (the message never repeats it)."""


def pseudonymiser() -> Pseudonymiser:
    """Keyed from env AIRFLOW_VAR_KS_PSEUDONYM_KEY, else Airflow variable ks_pseudonym_key (the
    secrets backend, or the metadata database inside Airflow's own processes)."""
    key = os.environ.get("AIRFLOW_VAR_" + KEY_VARIABLE.upper())
    if not key:
        try:
            from airflow.sdk import Variable

            key = Variable.get(KEY_VARIABLE, default=None)
        except Exception as exc:  # no Airflow configuration reachable from here
            raise PseudonymKeyError(
                f"cannot read Airflow variable {KEY_VARIABLE} ({type(exc).__name__}); set env "
                f"AIRFLOW_VAR_{KEY_VARIABLE.upper()}"
            ) from None
    if not key:
        raise PseudonymKeyError(
            f"the pseudonym key is not available: set Airflow variable {KEY_VARIABLE} or env "
            f"AIRFLOW_VAR_{KEY_VARIABLE.upper()}"
        )
    return Pseudonymiser(key)


def pseudonym_of(email: str, pseudonymise: Pseudonymiser | None = None) -> str:
    text = (email or "").strip()
    if (
        not text
        or len(text) > MAX_EMAIL_LENGTH
        or "@" not in text
        or any(c.isspace() for c in text)
    ):
        raise NotAnEmail("that does not look like an e-mail address")
    return (pseudonymise or pseudonymiser())(text)


@dataclass
class PersonHistory:
    subject_ref: str
    evidence: list[dict] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)

    def by_source(self) -> dict[str, dict[str, int]]:
        """Per source: how many of this person's records were erased, redacted, held, ..."""
        out: dict[str, dict[str, int]] = {}
        for row in self.evidence:
            if row["event"].endswith(".intent"):
                continue
            counts = out.setdefault(row["source"] or "(requests)", {})
            key = f"{row['event']} {row['outcome']}"
            counts[key] = counts.get(key, 0) + 1
        return out

    def lines(self) -> list[str]:
        lines = [f"pseudonym {self.subject_ref}: {len(self.evidence)} evidence rows"]
        for source, counts in sorted(self.by_source().items()):
            summary = ", ".join(f"{n}x {k}" for k, n in sorted(counts.items()))
            lines.append(f"  {source}: {summary}")
        for req in self.requests:
            lines.append(
                f"  request {req['request_ref']} ({req['kind']}): received {req['received_on']}, "
                f"due {req['due_on']}, status {req['status']}"
                + (f", closed {req['closed_at'].date()}" if req["closed_at"] else "")
            )
        for row in self.evidence:
            lines.append(
                f"  #{row['seq']} {row['recorded_at']:%Y-%m-%d %H:%M:%S} {row['event']} "
                f"{row['outcome']} source={row['source'] or '-'} ref={row['record_ref'] or '-'} "
                f"categories={row['categories'] or '-'} rule={row['rule'] or '-'} "
                f"age_days={'-' if row['age_days'] is None else row['age_days']} "
                f"run={row['dag_id']}/{row['run_id']}"
            )
        return lines


def history(engine: Engine, subject_ref: str, limit: int = 5000) -> PersonHistory:
    flt = store.EvidenceFilter(subject_ref=subject_ref)
    rows = list(reversed(store.page(engine, flt, limit)))
    requests = store.requests_register(engine, subject_ref)
    return PersonHistory(subject_ref, rows, requests)
