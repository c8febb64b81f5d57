"""ActiveCampaign API v3 hook.

Docs: https://developers.activecampaign.com/reference (authentication: `Api-Token` header;
base URL from Settings > Developer, e.g. https://<account>.api-us1.com/api/3; rate limit
5 requests/s per account, 429 with Retry-After: /reference/rate-limits; paging: limit <= 100,
and on large accounts `orders[id]=ASC` + `id_greater` instead of offset: /reference/pagination).

Connection `activecampaign_default`: host = the API base URL, password = the API token.
Extras: `requests_per_second` (default 5), `timeout` (seconds, default 30), `retry_attempts`
(default 8) and `retry_max_seconds` (default 300) for 429s, 5xx and network faults,
`max_in_flight` (default 1: deletes and updates under way at once, still paced at the rate).
The UI's Test button runs `test_connection`: one real call with the token.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from functools import cached_property
from typing import Any

import requests
from airflow.sdk import BaseHook

from ks_privacy.hooks.vendor_http import (
    TEST_RETRY,
    ConnectionExtras,
    RetryPolicy,
    VendorError,
    VendorNotFound,
    VendorSession,
)

PAGE_SIZE = 100  # the documented maximum of `limit`
IDS_PER_FILTER = 100
# Deletes and updates under way at once (extra `max_in_flight`; still paced at
# `requests_per_second`). 1: one at a time, so a 429's Retry-After holds every call back. Raise
# it when the account's answers take longer than 200 ms, which keeps one-at-a-time calls below
# the 5/s the account allows; a request already under way when a 429 comes is then not held.
MAX_IN_FLIGHT = 1


def _error_detail(response: requests.Response) -> str:
    """AC errors come as {"message": ...} or {"errors": [{"title", "code"}]}: keep the codes."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return ", ".join(
            str(e.get("code") or "error") for e in body["errors"] if isinstance(e, dict)
        )
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"]  # e.g. 403 "Forbidden": the vendor's own words for a bad token
    return ""


class ActiveCampaignHook(BaseHook):
    conn_name_attr = "activecampaign_conn_id"
    default_conn_name = "activecampaign_default"
    conn_type = "activecampaign"
    hook_name = "ActiveCampaign"

    def __init__(self, activecampaign_conn_id: str = default_conn_name, **kwargs):
        super().__init__(**kwargs)
        self.activecampaign_conn_id = activecampaign_conn_id

    @cached_property
    def api(self) -> VendorSession:
        """The HTTP session, built on first use (the connection is read lazily, in the task)."""
        return self.session()

    def session(self, retry_policy: RetryPolicy | None = None) -> VendorSession:
        """A session on the connection (its extras' retry policy unless one is given)."""
        conn = self.get_connection(self.activecampaign_conn_id)
        extras = ConnectionExtras(
            "ActiveCampaign", self.activecampaign_conn_id, conn.extra_dejson.get
        )
        if not conn.host or not conn.password:
            raise extras.error("needs host (API URL) and password (API token)")
        base = conn.host if "://" in conn.host else f"https://{conn.host}"
        return VendorSession(
            "ActiveCampaign",
            base,
            headers={"Api-Token": conn.password},
            per_second=extras.number("requests_per_second", 5),
            timeout=extras.number("timeout", 30),
            retry_policy=retry_policy or RetryPolicy.from_extras(extras),
            error_detail=_error_detail,
            max_in_flight=extras.whole("max_in_flight", MAX_IN_FLIGHT),
        )

    def test_connection(self) -> tuple[bool, str]:
        """The UI's Test button: one real call (`GET contacts?limit=1`), which the API answers
        only for a valid token, and no retries, so a wrong token or URL says so at once."""
        try:
            page = (
                self.session(TEST_RETRY)
                .request("GET", "contacts", "test connection", params={"limit": 1})
                .json()
            )
        except VendorError as exc:
            return False, str(exc)
        except Exception as exc:  # a broken extra, a URL requests cannot use: say what kind
            return False, f"ActiveCampaign connection test failed: {type(exc).__name__}"
        total = page.get("meta", {}).get("total", "?")
        return True, f"ActiveCampaign answered with the token: the account holds {total} contacts"

    # ---- contacts ---------------------------------------------------------------------------

    def iter_pages(
        self, *, updated_before: date | None = None, tag_id: str | None = None
    ) -> Iterator[dict]:
        """Every contact (or those matching the filters) in id order, one page (100) at a time:
        `{"contacts": [...], "meta": {"total": ...}}` as the API answers.

        Keyset paging (`id_greater` + `orders[id]=ASC`) so deleting while iterating skips
        nobody, which offset paging would. The end is a short page: `meta.total` is not trusted
        to end a scan early (reading one page too many is safe, one too few is not).
        """
        params: dict[str, Any] = {"limit": PAGE_SIZE, "orders[id]": "ASC"}
        if updated_before is not None:
            params["filters[updated_before]"] = updated_before.isoformat()
        if tag_id is not None:
            params["tagid"] = tag_id
        last_id = 0
        while True:
            page = self.api.request(
                "GET", "contacts", "list contacts", params={**params, "id_greater": last_id}
            ).json()
            contacts = page.get("contacts", [])
            yield page
            if len(contacts) < PAGE_SIZE:
                return
            last_id = int(contacts[-1]["id"])

    def iter_contacts(
        self, *, updated_before: date | None = None, tag_id: str | None = None
    ) -> Iterator[dict]:
        """Every contact (or those matching the filters) in id order, streamed page by page."""
        for page in self.iter_pages(updated_before=updated_before, tag_id=tag_id):
            yield from page.get("contacts", [])

    def count_contacts(self, **filters: Any) -> int:
        """`meta.total` of a one-row page: what the account (or the filter) holds now."""
        return self.sample_contact(**filters)[0]

    def sample_contact(self, **filters: Any) -> tuple[int, dict | None]:
        """`meta.total` and the one contact of a one-row page (its `udate` shows the account's
        UTC offset), in one call."""
        page = self.api.request(
            "GET", "contacts", "count contacts", params={"limit": 1, **filters}
        ).json()
        contacts = page.get("contacts") or [None]
        return int(page.get("meta", {}).get("total", 0)), contacts[0]

    def iter_contacts_by_ids(self, ids: Sequence[str], tag_id: str | None = None) -> Iterator[dict]:
        """The contacts among `ids` that still exist (and carry tag `tag_id`, when given), 100
        per call through the `ids[]` filter, streamed a call at a time."""
        for start in range(0, len(ids), IDS_PER_FILTER):
            chunk = list(ids[start : start + IDS_PER_FILTER])
            params = [("ids[]", i) for i in chunk] + [("limit", PAGE_SIZE)]
            if tag_id is not None:
                params.append(("tagid", tag_id))
            page = self.api.request("GET", "contacts", "get contacts", params=params).json()
            wanted = set(chunk)
            yield from (c for c in page.get("contacts", []) if str(c.get("id")) in wanted)

    def get_contacts(self, ids: Sequence[str], tag_id: str | None = None) -> list[dict]:
        """The contacts among `ids` that still exist, 100 per call through the `ids[]` filter."""
        return list(self.iter_contacts_by_ids(ids, tag_id))

    def get_contact(self, contact_id: str) -> dict:
        """One contact with its related records; raises VendorNotFound when it is gone."""
        return self.api.request("GET", f"contacts/{int(contact_id)}", "get contact").json()

    def contacts_with_email(self, email: str) -> list[dict]:
        """Contacts the API returns for the exact-address filter `email` (never `search`)."""
        page = self.api.request(
            "GET", "contacts", "find contact", params={"email": email, "limit": PAGE_SIZE}
        ).json()
        return page.get("contacts", [])

    def update_contact(self, contact_id: str, fields: dict[str, str]) -> dict:
        """PUT the given contact fields; returns the contact as stored (with its new udate)."""
        return self.put_contact(contact_id, fields).get("contact", {})

    def put_contact(self, contact_id: str, fields: dict[str, str]) -> dict:
        """PUT the given contact fields; returns the whole answer: the contact as stored and its
        custom field values, `{"contact": ..., "fieldValues": [...]}`
        (/reference/update-a-contact-new)."""
        return self.api.request(
            "PUT", f"contacts/{int(contact_id)}", "update contact", json={"contact": fields}
        ).json()

    def delete_contact(self, contact_id: str) -> bool:
        """Delete a contact. True if deleted now, False if it was already gone (404)."""
        try:
            self.api.request("DELETE", f"contacts/{int(contact_id)}", "delete contact")
        except VendorNotFound:
            return False
        return True

    # ---- custom fields ----------------------------------------------------------------------

    def iter_fields(self) -> Iterator[dict]:
        """Every custom field of the account (/reference/retrieve-fields-1), 100 a call."""
        return self._iter_pages("fields", "fields", "list fields")

    def _iter_pages(
        self, path: str, key: str, what: str, params: dict | None = None
    ) -> Iterator[dict]:
        """The items under `key` of an offset-paged collection, PAGE_SIZE a call; the end is a
        short page (these collections have no cursor or total we could trust)."""
        offset = 0
        while True:
            page = self.api.request(
                "GET", path, what, params={**(params or {}), "limit": PAGE_SIZE, "offset": offset}
            ).json()
            items = page.get(key, [])
            yield from items
            if len(items) < PAGE_SIZE:
                return
            offset += PAGE_SIZE

    def field_titles(self) -> dict[str, str]:
        """Custom field id -> title."""
        return {str(f["id"]): str(f.get("title") or "") for f in self.iter_fields()}

    def iter_field_values(self, field_id: str) -> Iterator[dict]:
        """Every value of one custom field, over all contacts, 100 a call
        (/reference/list-all-custom-field-values, `filters[fieldid]`). The API pages these by
        offset only and has no date filter; the end is a short page."""
        return self._iter_pages(
            "fieldValues", "fieldValues", "list field values", {"filters[fieldid]": field_id}
        )

    def contact_field_values(self, contact_id: str) -> list[dict]:
        """One contact's custom field values; raises VendorNotFound when the contact is gone."""
        return self.related(contact_id, "fieldValues")

    def update_field_value(self, value: dict, text: str) -> dict:
        """Set a custom field value (/reference/update-a-custom-field-value-for-contact);
        returns the contact as the answer shows it after the write (its new udate)."""
        body = {"fieldValue": {"contact": value["contact"], "field": value["field"], "value": text}}
        answer = self.api.request(
            "PUT", f"fieldValues/{int(value['id'])}", "update field value", json=body
        ).json()
        return (answer.get("contacts") or [{}])[0]

    def count_field_values(self, field_id: str) -> int:
        """How many values one custom field holds over all contacts (`meta.total`)."""
        page = self.api.request(
            "GET",
            "fieldValues",
            "count field values",
            params={"filters[fieldid]": field_id, "limit": 1},
        ).json()
        return int(page.get("meta", {}).get("total", 0))

    # ---- tags, lists, tracking -------------------------------------------------------------

    def tag_id(self, name: str) -> str | None:
        """The id of the tag with exactly this name (`search` only narrows the candidates)."""
        page = self.api.request(
            "GET", "tags", "find tag", params={"search": name, "limit": PAGE_SIZE}
        ).json()
        exact = [t for t in page.get("tags", []) if t.get("tag") == name]
        return str(exact[0]["id"]) if exact else None

    def related(self, contact_id: str, relation: str) -> list[dict]:
        """A contact's related records: contactTags, contactLists, fieldValues, trackingLogs,
        geoIps (the sub-paths the docs list under a contact's `links`)."""
        body = self.api.request(
            "GET", f"contacts/{int(contact_id)}/{relation}", f"get {relation}"
        ).json()
        return body.get(relation, [])

    def iter_lists(self) -> Iterator[dict]:
        """Every list of the account (/reference/retrieve-all-lists), 100 a call."""
        return self._iter_pages("lists", "lists", "list lists")

    def unsubscribe(self, contact_id: str, list_id: str) -> None:
        """Set a contact's status on a list to 2 (unsubscribed): /reference/update-list-status."""
        self.api.request(
            "POST",
            "contactLists",
            "unsubscribe",
            json={"contactList": {"list": int(list_id), "contact": int(contact_id), "status": 2}},
        )

    @property
    def calls(self) -> int:
        return self.api.calls
