"""The credentials the emulators accept: fixed demo values by default, overridable, kept in the
sandbox database so the seed, the server and the demo agree on them.

Google: a generated RSA service-account key. The keyfile written from it is a normal
service-account JSON whose token_uri points at the sandbox's token endpoint, so the real
google-auth flow (signed JWT, domain-wide delegation) runs against the sandbox unchanged.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox.store import Store

DEFAULT_AC_TOKEN = (
    "ks-sandbox-ac-3f7c2a9e51d84b0c9e6f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f"
)
DEFAULT_TAWK_API_KEY = "ks-sandbox-tawk-9b8a7c6d5e4f3a2b1c0d"
DEFAULT_TAWK_PROPERTY_ID = "5f1e2d3c4b5a69788796a5b4"
DEFAULT_GOOGLE_CLIENT_EMAIL = "privacy-ops@ks-sandbox.iam.gserviceaccount.com"
DEFAULT_GOOGLE_PROJECT = "ks-sandbox"
DEFAULT_GOOGLE_SUBJECT = "ops@klantenscoren.nl"
CONTACTS_SCOPE = "https://www.googleapis.com/auth/contacts"


@dataclass(frozen=True)
class Credentials:
    ac_token: str = DEFAULT_AC_TOKEN
    tawk_api_key: str = DEFAULT_TAWK_API_KEY
    tawk_property_id: str = DEFAULT_TAWK_PROPERTY_ID
    google_client_email: str = DEFAULT_GOOGLE_CLIENT_EMAIL
    google_project_id: str = DEFAULT_GOOGLE_PROJECT
    google_subject: str = DEFAULT_GOOGLE_SUBJECT
    google_private_key_id: str = ""
    google_private_key: str = ""

    def public_key_pem(self) -> bytes:
        key = serialization.load_pem_private_key(self.google_private_key.encode(), password=None)
        return key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def service_account_info(self, token_uri: str) -> dict[str, Any]:
        """A service-account keyfile, as Google's console would issue it, aimed at the sandbox."""
        return {
            "type": "service_account",
            "project_id": self.google_project_id,
            "private_key_id": self.google_private_key_id,
            "private_key": self.google_private_key,
            "client_email": self.google_client_email,
            "client_id": str(
                int(hashlib.sha256(self.google_client_email.encode()).hexdigest()[:15], 16)
            ),
            "auth_uri": token_uri.rsplit("/", 1)[0] + "/o/oauth2/auth",
            "token_uri": token_uri,
            "auth_provider_x509_cert_url": token_uri.rsplit("/", 1)[0] + "/oauth2/v1/certs",
            "client_x509_cert_url": token_uri.rsplit("/", 1)[0]
            + "/robot/v1/metadata/x509/"
            + self.google_client_email,
            "universe_domain": "googleapis.com",
        }


def _new_rsa_key() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    key_id = hashlib.sha1(pem.encode()).hexdigest()  # noqa: S324 - an identifier, not a secret
    return key_id, pem


def keyfile_overrides(path: str | Path) -> dict[str, str]:
    """Use an existing service-account keyfile's key and e-mail instead of a generated key."""
    info = json.loads(Path(path).read_text())
    return {
        "google_client_email": info["client_email"],
        "google_private_key": info["private_key"],
        "google_private_key_id": info.get("private_key_id", ""),
        "google_project_id": info.get("project_id", DEFAULT_GOOGLE_PROJECT),
    }


def load_credentials(store: Store, **overrides: str | None) -> Credentials:
    """The stored credentials (created on first use), with any non-empty overrides saved."""
    stored = store.get_setting("credentials")
    creds = Credentials(**stored) if stored else Credentials()
    changes = {k: v for k, v in overrides.items() if v}
    if changes:
        creds = replace(creds, **changes)
    if not creds.google_private_key:
        key_id, pem = _new_rsa_key()
        creds = replace(creds, google_private_key=pem, google_private_key_id=key_id)
    if stored != asdict(creds):
        store.set_setting("credentials", asdict(creds))
    return creds
