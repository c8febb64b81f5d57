"""Tawk.to REST API hook (read-only: Tawk publishes no method to delete a chat).

Docs: https://help.tawk.to/article/rest-api and https://developer.tawk.to/ : RPC-style methods,
`POST https://api.tawk.to/v1/<method>` with a JSON body, HTTP Basic auth with the API key as the
user name, answers `{"ok": true, "data": ...}` or `{"ok": false, "error": "<code>"}`.

Connection `tawk_default`: host = API base URL (https://api.tawk.to), password = API key,
extra `property_id` (the property whose chats we keep), `requests_per_second` (default 2),
`timeout`, `retry_attempts`, `retry_max_seconds` (as for ActiveCampaign). The UI's Test button
runs `test_connection`: one real chat.list of the property.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from functools import cached_property
from typing import Any

import requests
from airflow.sdk import BaseHook

from ks_privacy.hooks.vendor_http import (
    TEST_RETRY,
    ConnectionExtras,
    RetryPolicy,
    VendorError,
    VendorSession,
)

PAGE_SIZE = 100
DEFAULT_BASE = "https://api.tawk.to"


def _error_detail(response: requests.Response) -> str:
    try:
        return str(response.json().get("error", ""))
    except (ValueError, AttributeError):
        return ""


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


class TawkHook(BaseHook):
    conn_name_attr = "tawk_conn_id"
    default_conn_name = "tawk_default"
    conn_type = "tawk"
    hook_name = "Tawk.to"

    def __init__(self, tawk_conn_id: str = default_conn_name, **kwargs):
        super().__init__(**kwargs)
        self.tawk_conn_id = tawk_conn_id

    @cached_property
    def _conn(self):
        conn = self.get_connection(self.tawk_conn_id)
        if not conn.password or not conn.extra_dejson.get("property_id"):
            raise self._extras(conn).error("needs password (API key) and extra property_id")
        return conn

    def _extras(self, conn) -> ConnectionExtras:
        return ConnectionExtras("Tawk", self.tawk_conn_id, conn.extra_dejson.get)

    @cached_property
    def api(self) -> VendorSession:
        return self.session()

    def session(self, retry_policy: RetryPolicy | None = None) -> VendorSession:
        """A session on the connection (its extras' retry policy unless one is given)."""
        conn = self._conn
        extras = self._extras(conn)
        return VendorSession(
            "Tawk",
            conn.host or DEFAULT_BASE,
            auth=(conn.password, ""),
            per_second=extras.number("requests_per_second", 2),
            timeout=extras.number("timeout", 30),
            retry_policy=retry_policy or RetryPolicy.from_extras(extras),
            error_detail=_error_detail,
            account=f"{conn.host or DEFAULT_BASE} {conn.extra_dejson.get('property_id')}",
        )

    def test_connection(self) -> tuple[bool, str]:
        """The UI's Test button: one real `chat.list` of the property (size 1), which proves the
        key and that it may read this property's chats; no retries."""
        try:
            body = self.call("chat.list", session=self.session(TEST_RETRY), size=1, offset=0)
        except VendorError as exc:
            return False, str(exc)
        except Exception as exc:  # a broken extra, a URL requests cannot use: say what kind
            return False, f"Tawk connection test failed: {type(exc).__name__}"
        return (
            True,
            f"Tawk answered with the key: the property holds {body.get('total', '?')} chats",
        )

    @property
    def property_id(self) -> str:
        return str(self._conn.extra_dejson["property_id"])

    def call(self, method: str, *, session: VendorSession | None = None, **args: Any) -> dict:
        body = (
            (session or self.api)
            .request("POST", f"v1/{method}", method, json={"propertyId": self.property_id, **args})
            .json()
        )
        if not body.get("ok", False):
            raise VendorError("Tawk", method, 200, str(body.get("error", "not ok")))
        return body

    def iter_chats(self, *, end: datetime | None = None) -> Iterator[dict]:
        """Chats of the property (created up to `end`), newest first, a page of 100 at a time.

        Paged by creation time: the next page is asked with `endDate` = the last chat's
        `createdOn` (chat.list's filter is inclusive), and the chats of that instant already
        returned are skipped by id. Offset paging would skip chats whenever some are deleted
        in the dashboard while we read (and repeat them when new ones arrive). Only when more
        than a page of chats share one instant does `offset` step over them.
        """
        end_text = _iso(end) if end else None
        offset = 0
        at_end: set[str] = set()  # ids returned whose createdOn is exactly end_text
        while True:
            args: dict[str, Any] = {"size": PAGE_SIZE, "offset": offset}
            if end_text:
                args["endDate"] = end_text
            chats = self.call("chat.list", **args).get("data", [])
            yield from (c for c in chats if str(c.get("id")) not in at_end)
            if len(chats) < PAGE_SIZE:
                return
            last = str(chats[-1].get("createdOn") or "")
            tied = {str(c.get("id")) for c in chats if c.get("createdOn") == last}
            if last == end_text:  # a whole page of one instant
                state = (last, len(at_end | tied))
                at_end |= tied
            else:
                state = (last, 0)
                at_end = tied
            if state == (end_text, offset):
                raise VendorError("Tawk", "chat.list", 200, "paging did not advance")
            end_text, offset = state

    def count_chats(self) -> int:
        return int(self.call("chat.list", size=1, offset=0).get("total", 0))

    def get_chat(self, chat_id: str) -> dict:
        """One chat with its messages; raises VendorNotFound when it is gone."""
        return self.call("chat.get", chatId=chat_id)["data"]

    def get_person(self, person_id: str) -> dict:
        return self.call("contact.person.get", personId=person_id)["data"]
