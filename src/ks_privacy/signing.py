"""Ed25519 signatures on anchors and auditor reports, so an outsider can check them with our
public key and the files alone.

The private key is Airflow variable `ks_audit_private_key` (env `AIRFLOW_VAR_KS_AUDIT_PRIVATE_KEY`
or a secrets backend): a variable because it is one secret value, not an endpoint with a login,
and because Airflow masks every variable whose name contains `private_key` in task logs. The
value is a PEM private key (`openssl genpkey -algorithm ed25519`) or the base64 of 32 random
bytes. `python -m ks_privacy audit public-key` prints the public key for auditors.

A signature is the 64 raw bytes Ed25519 produces, in `<file>.sig` next to the file: exactly what
`openssl pkeyutl -verify -pubin -inkey ks-audit-public.pem -rawin -in FILE -sigfile FILE.sig`
checks.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ks_privacy.settings import VariableUnreachable, mask_in_task_logs, optional_variable, variable

KEY_VARIABLE = "ks_audit_private_key"
PUBLIC_KEY_VARIABLE = "ks_audit_public_key"  # optional: where only checking is needed
SIGNATURE_SUFFIX = ".sig"


class SigningKeyError(RuntimeError):
    """The signing key is missing or not an Ed25519 key (the message never repeats it)."""


def private_key_from_text(text: str) -> Ed25519PrivateKey:
    text = (text or "").strip()
    if not text:
        raise SigningKeyError("the signing key is empty")
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            raw = base64.b64decode(text, validate=True)
            if len(raw) != 32:
                raise ValueError("not 32 bytes")
            key = Ed25519PrivateKey.from_private_bytes(raw)
    except (ValueError, TypeError, binascii.Error):
        raise SigningKeyError(
            f"{KEY_VARIABLE} is neither a PEM private key nor the base64 of 32 bytes"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{KEY_VARIABLE} is a {type(key).__name__}, not an Ed25519 key")
    return key


def load_private_key() -> Ed25519PrivateKey:
    """From env AIRFLOW_VAR_KS_AUDIT_PRIVATE_KEY, else Airflow variable ks_audit_private_key."""
    try:
        text = variable(KEY_VARIABLE)
    except VariableUnreachable as exc:
        raise SigningKeyError(str(exc)) from None
    if not text:
        raise SigningKeyError(
            f"no signing key: set Airflow variable {KEY_VARIABLE} (a secrets backend in "
            "production; see docs/auditors.md for how to make one)"
        )
    mask_in_task_logs(text)
    return private_key_from_text(text)


def generate_private_key_pem() -> str:
    """A new key, as the sandbox, the demo and the tests make their own."""
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode("ascii")
    )


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def public_key_for_checks() -> Ed25519PublicKey | None:
    """For processes that check but never sign (the api-server's page): variable
    `ks_audit_public_key` (PEM), else the signing key's when this process has it, else None."""
    text = optional_variable(PUBLIC_KEY_VARIABLE)
    if text:
        return load_public_key(text)
    try:
        return load_private_key().public_key()
    except SigningKeyError:
        return None


def load_public_key(pem: bytes | str) -> Ed25519PublicKey:
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        raise SigningKeyError("not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"the public key is a {type(key).__name__}, not Ed25519")
    return key


def sign(key: Ed25519PrivateKey, data: bytes) -> bytes:
    return key.sign(data)


def verify(public: Ed25519PublicKey, data: bytes, signature: bytes) -> bool:
    try:
        public.verify(signature, data)
    except InvalidSignature:
        return False
    return True


def write_signed(path, data: bytes, key: Ed25519PrivateKey) -> None:
    """Write `data` to `path` (an ObjectStoragePath or pathlib.Path) and its signature beside."""
    path.write_bytes(data)
    signature_path(path).write_bytes(sign(key, data))


def signature_path(path):
    return path.parent / (path.name + SIGNATURE_SUFFIX)
