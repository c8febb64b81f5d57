"""Google's OAuth 2.0 token endpoint for service accounts, as google-auth calls it.

Docs: https://developers.google.com/identity/protocols/oauth2/service-account#authorizingrequests
("Preparing to make a delegated API call": POST to the token_uri with
grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer and a JWT `assertion` signed with the
service account's key; the response is {"access_token", "expires_in", "token_type": "Bearer"};
errors are {"error", "error_description"}).

Sandbox rules, stricter than "any signed JWT":
- the signature must verify with the sandbox's service-account key (PyJWT, RS256);
- `iss` must be that service account's e-mail;
- `sub` is required: this sandbox only issues domain-wide-delegation tokens, as the hooks use;
- `scope` must include https://www.googleapis.com/auth/contacts.
The audience is accepted when it is a URL ending in /token (the keyfile's token_uri, whatever
host the sandbox is reached under); Google itself insists on https://oauth2.googleapis.com/token.
"""

from __future__ import annotations

import secrets
import time
from urllib.parse import parse_qs

import jwt

from sandbox.credentials import CONTACTS_SCOPE, Credentials
from sandbox.http import Request, Response
from sandbox.store import Store

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_LIFETIME = 3600


def _oauth_error(status: int, error: str, description: str) -> Response:
    return Response(status, {"error": error, "error_description": description})


class TokenEndpoint:
    def __init__(self, store: Store, credentials: Credentials) -> None:
        self.store = store
        self.credentials = credentials
        self._public_key = credentials.public_key_pem()

    def handle(self, req: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(req.body.decode("utf-8", "replace")).items()}
        if form.get("grant_type") != GRANT_TYPE:
            return _oauth_error(
                400, "unsupported_grant_type", f"Invalid grant_type: {form.get('grant_type', '')}"
            )
        assertion = form.get("assertion")
        if not assertion:
            return _oauth_error(400, "invalid_request", "Missing required parameter: assertion")
        try:
            claims = jwt.decode(
                assertion,
                self._public_key,
                algorithms=["RS256"],
                options={"verify_aud": False, "require": ["iss", "aud", "exp", "iat"]},
                leeway=60,
            )
        except jwt.ExpiredSignatureError:
            return _oauth_error(
                400,
                "invalid_grant",
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
                "timeframe. Check your iat and exp values in the JWT claim.",
            )
        except jwt.InvalidTokenError:
            return _oauth_error(400, "invalid_grant", "Invalid JWT Signature.")
        if claims.get("iss") != self.credentials.google_client_email:
            return _oauth_error(400, "invalid_grant", "Invalid JWT Signature.")
        if not str(claims.get("aud", "")).rstrip("/").endswith("/token"):
            return _oauth_error(400, "invalid_grant", "Invalid JWT: audience is not the token URI.")
        if int(claims["exp"]) - int(claims["iat"]) > TOKEN_LIFETIME + 60:
            return _oauth_error(
                400, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes)."
            )
        subject = claims.get("sub")
        if not subject:
            return _oauth_error(
                400,
                "invalid_grant",
                "This sandbox issues domain-wide-delegation tokens only: the assertion needs a "
                "'sub' claim naming the user to act for.",
            )
        scopes = str(claims.get("scope", "")).split()
        if CONTACTS_SCOPE not in scopes:
            return _oauth_error(
                401,
                "unauthorized_client",
                "Client is unauthorized to retrieve access tokens using this method, or client "
                "not authorized for any of the scopes requested.",
            )
        token = "ya29.sandbox-" + secrets.token_urlsafe(40)
        with self.store.write() as conn:
            conn.execute("DELETE FROM g_tokens WHERE expires < ?", (time.time(),))
            conn.execute(
                "INSERT INTO g_tokens (token, subject, scopes, expires) VALUES (?, ?, ?, ?)",
                (token, subject, " ".join(scopes), time.time() + TOKEN_LIFETIME),
            )
        return Response(
            200,
            {"access_token": token, "expires_in": TOKEN_LIFETIME - 1, "token_type": "Bearer"},
            headers={"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate"},
        )

    def lookup(self, token: str) -> tuple[str, list[str]] | None:
        """(subject, scopes) for a live token; None for an unknown or expired one."""
        with self.store.connection() as conn:
            row = conn.execute(
                "SELECT subject, scopes, expires FROM g_tokens WHERE token = ?", (token,)
            ).fetchone()
        if row is None or row[2] < time.time():
            return None
        return row[0], row[1].split()
