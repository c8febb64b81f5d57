"""Pseudonyms: a keyed HMAC of the normalised e-mail address.

The audit trail stores these instead of e-mails, so an auditor who knows an address can find its
evidence, and nobody can read addresses out of the trail (the key stays in the secrets backend).
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

KEY_VARIABLE = "ks_pseudonym_key"
MIN_KEY_LENGTH = 32


class PseudonymKeyError(RuntimeError):
    """The pseudonym key is missing or too weak; nothing may be written without it."""


def normalise_email(email: str) -> str:
    """The form people's addresses are compared in: trimmed, Unicode NFC, lower case."""
    return unicodedata.normalize("NFC", email).strip().lower()


class Pseudonymiser:
    def __init__(self, key: str | bytes):
        key_bytes = key.encode() if isinstance(key, str) else key
        if len(key_bytes) < MIN_KEY_LENGTH:
            raise PseudonymKeyError(
                f"the pseudonym key must be at least {MIN_KEY_LENGTH} bytes; "
                f"set Airflow variable {KEY_VARIABLE} to e.g. the output of "
                "`python -c 'import secrets; print(secrets.token_hex(32))'`"
            )
        self._key = key_bytes

    def __call__(self, email: str | None) -> str | None:
        if not email or not email.strip():
            return None
        digest = hmac.new(self._key, normalise_email(email).encode(), hashlib.sha256)
        return "ps_" + digest.hexdigest()[:32]

    def derive_key(self, purpose: str) -> bytes:
        """A 32-byte key for another purpose (HKDF-SHA256 of this secret), so one secret in the
        secrets backend also guards e.g. the request vault, and neither key reveals the other."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode())
        return hkdf.derive(self._key)

    def __repr__(self) -> str:  # never show the key
        return "Pseudonymiser(<key hidden>)"


def pseudonymiser_from_airflow() -> Pseudonymiser:
    """The pseudonymiser keyed from Airflow variable `ks_pseudonym_key` (env
    `AIRFLOW_VAR_KS_PSEUDONYM_KEY` first, as from a CLI), masked in task logs."""
    from ks_privacy.settings import VariableUnreachable, mask_in_task_logs, variable

    try:
        key = variable(KEY_VARIABLE)
    except VariableUnreachable as exc:
        raise PseudonymKeyError(str(exc)) from None
    if not key:
        raise PseudonymKeyError(
            f"Airflow variable {KEY_VARIABLE} is not set, so no evidence can be written and "
            "nothing is deleted. Set it (a secret of at least 32 bytes) in the secrets backend "
            f"or with `airflow variables set {KEY_VARIABLE} <secret>`."
        )
    mask_in_task_logs(key)
    return Pseudonymiser(key)
