"""Tawk.to REST API hook (read-only: Tawk publishes no method to delete a chat).

Docs: https://help.tawk.to/article/rest-api and https://developer.tawk.to/ : RPC-style methods,
`POST https://api.tawk.to/v1/<method>` with a JSON body, HTTP Basic auth with the API key as the
user name, answers `{"ok": true, "data": ...}` or `{"ok": false, "error": "<code>"}`.

Connection `tawk_default`: host = API base URL (https://api.tawk.to), password = API key,
extra `property_id` (the property whose chats we keep), `requests_per_second` (default 2).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from functools import cached_property
from typing import Any

import requests
from airflow.sdk import BaseHook

from ks_privacy.hooks._http import VendorError, VendorSession

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
            raise VendorError(
                "Tawk",
                "configuration",
                None,
                f"connection {self.tawk_conn_id!r} needs password (API key) and extra property_id",
            )
        return conn

    @cached_property
    def api(self) -> VendorSession:
        conn = self._conn
        return VendorSession(
            "Tawk",
            conn.host or DEFAULT_BASE,
            auth=(conn.password, ""),
            per_second=float(conn.extra_dejson.get("requests_per_second", 2)),
            timeout=float(conn.extra_dejson.get("timeout", 30)),
            error_detail=_error_detail,
        )

    @property
    def property_id(self) -> str:
        return str(self._conn.extra_dejson["property_id"])

    def call(self, method: str, **args: Any) -> dict:
        body = self.api.request(
            "POST", f"v1/{method}", method, json={"propertyId": self.property_id, **args}
        ).json()
        if not body.get("ok", False):
            raise VendorError("Tawk", method, 200, str(body.get("error", "not ok")))
        return body

    def iter_chats(self, *, end: datetime | None = None) -> Iterator[dict]:
        """Chats of the property (created up to `end`), a page of 100 at a time."""
        filters = {"endDate": _iso(end)} if end else {}
        offset = 0
        while True:
            page = self.call("chat.list", size=PAGE_SIZE, offset=offset, **filters)
            chats = page.get("data", [])
            yield from chats
            if len(chats) < PAGE_SIZE:
                return
            offset += PAGE_SIZE

    def count_chats(self) -> int:
        return int(self.call("chat.list", size=1, offset=0).get("total", 0))

    def get_chat(self, chat_id: str) -> dict:
        """One chat with its messages; raises VendorNotFound when it is gone."""
        return self.call("chat.get", chatId=chat_id)["data"]

    def get_person(self, person_id: str) -> dict:
        return self.call("contact.person.get", personId=person_id)["data"]
