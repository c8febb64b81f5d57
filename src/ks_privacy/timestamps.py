"""Trusted time (RFC 3161) for anchors, optional: a time-stamping authority countersigns the
anchor's sha256, so an anchor's time does not rest on our clock alone.

Off by default. On when Airflow connection `ks_audit_tsa` exists: type `http`, host = the TSA's
full URL (e.g. `https://tsa.example.com/tsr`), extra `ca_certificate` = the PEM of the TSA's
root certificate (and `intermediates`, a list of PEMs, if its chain has any), optional login and
password for HTTP basic auth. Every token is checked against that certificate before it is
stored as `<anchor>.tsr` (the whole TimeStampResp, DER): `openssl ts -verify -data ANCHOR -in
ANCHOR.tsr -CAfile tsa-ca.pem` checks it again without our code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import requests
from cryptography import x509
from rfc3161_client import (
    HashAlgorithm,
    TimestampRequestBuilder,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

TSA_CONN_ID = "ks_audit_tsa"
TSR_SUFFIX = ".tsr"
TIMEOUT_SECONDS = 20


class TimestampError(RuntimeError):
    """The TSA could not be reached, refused, or answered with a token that does not verify."""


@dataclass(frozen=True)
class TimestampAuthority:
    url: str
    roots: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...] = ()
    auth: tuple[str, str] | None = field(default=None, repr=False)

    @classmethod
    def from_connection(cls, conn) -> TimestampAuthority:
        extra = conn.extra_dejson if hasattr(conn, "extra_dejson") else json.loads(conn.extra)
        url = extra.get("url") or conn.host or ""
        if "://" not in url:
            raise TimestampError(f"connection {TSA_CONN_ID}: host must be the TSA's full URL")
        pem = extra.get("ca_certificate")
        if not pem:
            raise TimestampError(
                f"connection {TSA_CONN_ID}: extra `ca_certificate` (the TSA's root, PEM) is "
                "needed to check its tokens"
            )
        auth = (conn.login, conn.password or "") if conn.login else None
        return cls.from_pem(url, pem, extra.get("intermediates") or (), auth)

    @classmethod
    def from_pem(
        cls,
        url: str,
        ca_pem: str,
        intermediates: tuple[str, ...] | list[str] = (),
        auth: tuple[str, str] | None = None,
    ) -> TimestampAuthority:
        """From PEM text: the root(s) tokens must chain to, and any intermediates."""
        roots = tuple(x509.load_pem_x509_certificates(ca_pem.encode()))
        chain = tuple(
            c for text in intermediates for c in x509.load_pem_x509_certificates(text.encode())
        )
        return cls(url, roots, chain, auth)

    def stamp(self, data: bytes) -> bytes:
        """A verified RFC 3161 response (DER) over sha256(data)."""
        request = TimestampRequestBuilder().data(data).hash_algorithm(HashAlgorithm.SHA256).build()
        try:
            response = requests.post(
                self.url,
                data=request.as_bytes(),
                headers={"Content-Type": "application/timestamp-query"},
                auth=self.auth,
                timeout=TIMEOUT_SECONDS,
            )
        except requests.RequestException as exc:
            raise TimestampError(f"the TSA at {self.url} cannot be reached: {exc}") from None
        if response.status_code != 200:
            raise TimestampError(f"the TSA at {self.url} answered HTTP {response.status_code}")
        try:
            token = decode_timestamp_response(response.content)
        except ValueError as exc:
            raise TimestampError(f"the TSA's answer is not a timestamp response: {exc}") from None
        self.check(token.as_bytes(), data, nonce=request.nonce)
        return token.as_bytes()

    def check(self, token_der: bytes, data: bytes, nonce: int | None = None) -> None:
        """Raise TimestampError unless the token is granted, signed by a certificate chaining to
        our roots with the time-stamping usage, and covers exactly `data`."""
        builder = VerifierBuilder(nonce=nonce)
        for root in self.roots:
            builder = builder.add_root_certificate(root)
        for cert in self.intermediates:
            builder = builder.add_intermediate_certificate(cert)
        try:
            builder.build().verify_message(decode_timestamp_response(token_der), data)
        except (VerificationError, ValueError) as exc:
            raise TimestampError(f"the timestamp token does not verify: {exc}") from None


def configured_authority() -> TimestampAuthority | None:
    """The TSA of connection `ks_audit_tsa`, or None when there is none (trusted time is off)."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = BaseHook.get_connection(TSA_CONN_ID)
    except AirflowNotFoundException:
        return None
    return TimestampAuthority.from_connection(conn)


def token_time(token_der: bytes):
    """The time the TSA vouches for (aware UTC)."""
    return decode_timestamp_response(token_der).tst_info.gen_time
