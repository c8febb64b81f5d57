"""The request vault: where a data-subject request's personal values (the subject's address, a
rectification's new values) live while the request is open, and only there.

Airflow never sees them: a request run carries only its reference, and its tasks read the
values from here. Each request gets a random AES-256-GCM key (the data key). The values are
encrypted with it (table `ks_request_vault`, the request reference as associated data, so a
ciphertext cannot be moved to another request); the data key is itself encrypted with a key
derived from the pseudonym key (table `ks_request_keys`). The pseudonym key lives in the secrets
backend, never in the audit database, so a copy or backup of that database alone reveals no
address.

Closing a request deletes both rows (`shred`): crypto-shredding. Whatever copy of the
ciphertext survives (a backup, PostgreSQL's write-ahead log or not yet vacuumed row versions)
cannot be read without the deleted data key.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import Connection, Engine

from ks_privacy.audit_db import connection
from ks_privacy.pseudonym import Pseudonymiser

KEY_PURPOSE = "ks_privacy request vault key-encryption v1"
_vault = sa.table(
    "ks_request_vault",
    sa.column("request_ref"),
    sa.column("nonce", sa.LargeBinary),
    sa.column("ciphertext", sa.LargeBinary),
    sa.column("stored_at"),
)
_keys = sa.table(
    "ks_request_keys",
    sa.column("request_ref"),
    sa.column("nonce", sa.LargeBinary),
    sa.column("wrapped_key", sa.LargeBinary),
    sa.column("stored_at"),
)


class AddressGone(LookupError):
    """The request has no address in the vault: it was closed (its key destroyed) or never
    registered through the vault."""


@dataclass(frozen=True)
class RequestSecret:
    """What a request needs to act and may never show: the normalised address and, for a
    rectification, the new values by field name."""

    email: str = field(repr=False)
    changes: dict[str, str] = field(default_factory=dict, repr=False)

    def values(self) -> list[str]:
        return [self.email, *self.changes.values()]


class Vault:
    def __init__(self, engine: Engine, pseudonymise: Pseudonymiser):
        self.engine = engine
        self._kek = AESGCM(pseudonymise.derive_key(KEY_PURPOSE))

    def store(self, conn: Connection, request_ref: str, secret: RequestSecret) -> None:
        """Encrypt and store, inside the caller's transaction (the register row's)."""
        data_key = AESGCM.generate_key(bit_length=256)
        plain = json.dumps({"email": secret.email, "changes": secret.changes}).encode()
        nonce, key_nonce = os.urandom(12), os.urandom(12)
        aad = request_ref.encode()
        now = datetime.now(UTC)
        conn.execute(
            sa.insert(_vault).values(
                request_ref=request_ref,
                nonce=nonce,
                ciphertext=AESGCM(data_key).encrypt(nonce, plain, aad),
                stored_at=now,
            )
        )
        conn.execute(
            sa.insert(_keys).values(
                request_ref=request_ref,
                nonce=key_nonce,
                wrapped_key=self._kek.encrypt(key_nonce, data_key, aad),
                stored_at=now,
            )
        )

    def read(self, request_ref: str) -> RequestSecret:
        with connection(self.engine) as conn:
            key_row = conn.execute(
                sa.select(_keys.c.nonce, _keys.c.wrapped_key).where(
                    _keys.c.request_ref == request_ref
                )
            ).first()
            row = conn.execute(
                sa.select(_vault.c.nonce, _vault.c.ciphertext).where(
                    _vault.c.request_ref == request_ref
                )
            ).first()
        if key_row is None or row is None:
            raise AddressGone(
                f"request {request_ref} has no address in the vault (closed, or not registered)"
            )
        aad = request_ref.encode()
        data_key = self._kek.decrypt(bytes(key_row.nonce), bytes(key_row.wrapped_key), aad)
        plain = json.loads(AESGCM(data_key).decrypt(bytes(row.nonce), bytes(row.ciphertext), aad))
        return RequestSecret(plain["email"], dict(plain.get("changes") or {}))


def holds(conn: Connection, request_ref: str) -> bool:
    """Whether the request's data key still exists (its address can still be read)."""
    found = conn.execute(sa.select(sa.literal(1)).where(_keys.c.request_ref == request_ref)).first()
    return found is not None


def shred(conn: Connection, request_ref: str) -> bool:
    """Destroy the request's data key and ciphertext, inside the caller's transaction (the one
    that closes the request). True if there was anything to destroy. No key needed: anyone who
    may close a request may forget its address."""
    if conn.dialect.name == "sqlite":  # overwrite the freed pages instead of leaving them
        conn.exec_driver_sql("PRAGMA secure_delete = ON")
    keys = conn.execute(sa.delete(_keys).where(_keys.c.request_ref == request_ref)).rowcount
    values = conn.execute(sa.delete(_vault).where(_vault.c.request_ref == request_ref)).rowcount
    return bool(keys or values)
