"""Google Workspace contacts through the People API v1.

Docs: https://developers.google.com/people/api/rest/v1/people (connections.list with
`personFields`, `pageSize` <= 1000, `sortOrder`; batchDeleteContacts <= 500 names; getBatchGet
<= 200 names; updateContact with `updatePersonFields` and the contact's etag, a stale etag is
400 FAILED_PRECONDITION) and /v1/contactGroups.

Credentials come from apache-airflow-providers-google's GoogleBaseHook (extra `keyfile_dict` or
`key_path`; the scope is always the contacts scope). Connection type `google_contacts` (ours, so
the UI's form shows these fields and its Test button runs this hook's `test_connection`; a
`google_cloud_platform` connection with the same extras works as well). Domain-wide delegation:
the service account acts for the mailbox in extra `subject` (`credentials.with_subject`), because
the provider no longer takes a subject itself. Extra `api_endpoint` points the client elsewhere
(the sandbox); extra `requests_per_second` paces calls (default 1: People API quotas are per
minute per user); `timeout`, `retry_max_seconds`, `max_in_flight` as for ActiveCampaign; the
retry setting is the Google provider's `num_retries` (see `retry_policy`). The token endpoint's
faults are retried like the API's; refused credentials fail at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import cached_property

import requests
from airflow.providers.google.common.hooks.base_google import GoogleBaseHook
from google.auth import exceptions as auth_exceptions
from google.auth.transport.requests import AuthorizedSession
from tenacity import retry, retry_if_exception, stop_after_attempt

from ks_privacy.hooks.vendor_http import (
    TEST_RETRY,
    ConnectionExtras,
    RetryPolicy,
    VendorAuthError,
    VendorError,
    VendorNotFound,
    VendorSession,
)

CONTACTS_SCOPE = "https://www.googleapis.com/auth/contacts"
DEFAULT_ENDPOINT = "https://people.googleapis.com"
PAGE_SIZE = 1000  # connections.list maximum
DELETE_BATCH = 500  # batchDeleteContacts maximum
GET_BATCH = 200  # getBatchGet maximum
MAX_IN_FLIGHT = 1  # updateContact calls under way at once (see the ActiveCampaign hook)
STALE_ETAG_TRIES = 3  # writes of one update when someone keeps changing the contact
PERSON_FIELDS = "names,emailAddresses,phoneNumbers,addresses,genders,memberships,metadata"
# category -> the person field that holds it (updatePersonFields names)
CATEGORY_FIELDS = {
    "name": "names",
    "email": "emailAddresses",
    "phone": "phoneNumbers",
    "address": "addresses",
    "gender": "genders",
}


def _error_detail(response: requests.Response) -> str:
    """Google's error shape: {"error": {"code", "message", "status"}}; keep the status code."""
    try:
        return str(response.json().get("error", {}).get("status", ""))
    except (ValueError, AttributeError):
        return ""


def page_total(page: dict) -> int:
    """The mailbox's contact count a connections page carries (`totalItems`; older answers
    `totalPeople`)."""
    return int(page.get("totalItems", page.get("totalPeople", 0)))


def _is_stale_etag(exc: BaseException) -> bool:
    return (
        isinstance(exc, VendorError) and exc.status == 400 and exc.detail == "FAILED_PRECONDITION"
    )


class _PeopleSession(AuthorizedSession):
    """google-auth's session, with its token refresh failures in our terms.

    The access token is fetched inside `request` (before the API call). A token endpoint that
    cannot be reached, times out or answers 5xx after google-auth's own retries becomes a
    `requests.ConnectionError`, which VendorSession retries like any network fault; refused
    credentials become VendorAuthError at once. Neither carries the assertion or the response.
    """

    def request(self, method, url, *args, **kwargs):
        try:
            return super().request(method, url, *args, **kwargs)
        except auth_exceptions.TransportError:
            raise requests.ConnectionError("Google token endpoint unreachable") from None
        except auth_exceptions.RefreshError as exc:
            if getattr(exc, "retryable", False):
                raise requests.ConnectionError("Google token endpoint unavailable") from None
            code = str(exc.args[0]).split(":", 1)[0] if exc.args else ""
            raise VendorAuthError(
                "Google People",
                "get access token",
                None,
                f"credentials refused ({code[:40]}); check the connection's keyfile, its "
                "domain-wide delegation and the `subject`",
            ) from None


class GoogleContactsHook(GoogleBaseHook):
    conn_name_attr = "gcp_conn_id"
    default_conn_name = "google_contacts_default"
    conn_type = "google_contacts"
    hook_name = "Google Workspace contacts (delegated mailbox)"

    def __init__(self, gcp_conn_id: str = default_conn_name, **kwargs):
        super().__init__(gcp_conn_id=gcp_conn_id, **kwargs)

    @property
    def scopes(self) -> Sequence[str]:
        return [CONTACTS_SCOPE]

    @cached_property
    def api(self) -> VendorSession:
        return self.session()

    def retry_policy(self) -> RetryPolicy:
        """The connection's one retry setting is the Google provider's own `num_retries` (tries
        after the first; default 7, so 8 in all as for the other vendors), with
        `retry_max_seconds`. `retry_attempts` (the other hooks' name) is refused here rather
        than silently ignored."""
        extras = self._extras()
        if self._get_field("retry_attempts") not in (None, ""):
            raise extras.error(
                "sets extra `retry_attempts`; a Google connection's retry setting is "
                "`num_retries` (retries after the first try)"
            )
        retries = extras.whole("num_retries", RetryPolicy.attempts - 1, minimum=0)
        return RetryPolicy(
            attempts=retries + 1,
            max_seconds=extras.number("retry_max_seconds", RetryPolicy.max_seconds),
        )

    def _extras(self) -> ConnectionExtras:
        return ConnectionExtras("Google People", self.gcp_conn_id, self._get_field)

    def session(self, retry_policy: RetryPolicy | None = None) -> VendorSession:
        """A session acting for the delegated mailbox (the connection's retry policy unless one
        is given)."""
        extras = self._extras()
        subject = self._get_field("subject")
        if not subject:
            raise extras.error(
                "needs extra `subject`: the Workspace mailbox whose contacts the service account "
                "reads (domain-wide delegation)"
            )
        credentials = self.get_credentials().with_subject(subject)
        endpoint = self._get_field("api_endpoint") or DEFAULT_ENDPOINT
        return VendorSession(
            "Google People",
            endpoint,
            session=_PeopleSession(credentials),
            per_second=extras.number("requests_per_second", 1),
            timeout=extras.number("timeout", 30),
            retry_policy=retry_policy or self.retry_policy(),
            error_detail=_error_detail,
            max_in_flight=extras.whole("max_in_flight", MAX_IN_FLIGHT),
            account=f"{endpoint} {subject}",  # People API quotas count per user
        )

    def test_connection(self) -> tuple[bool, str]:
        """The UI's Test button: an access token for the delegated mailbox (the keyfile, the
        domain-wide delegation and the contacts scope) and one real call with it, a one-row
        connections.list; no retries. (GoogleBaseHook's own test asks tokeninfo about the
        service account, which proves neither the delegation nor the People API.)"""
        try:
            page = (
                self.session(TEST_RETRY)
                .request(
                    "GET",
                    "v1/people/me/connections",
                    "test connection",
                    params={"personFields": "metadata", "pageSize": 1},
                )
                .json()
            )
        except VendorError as exc:
            return False, str(exc)
        except Exception as exc:  # a broken keyfile, a URL requests cannot use: say what kind
            return False, f"Google People connection test failed: {type(exc).__name__}"
        return True, (
            f"the People API answered for the delegated mailbox: {page_total(page)} contacts"
        )

    # ---- reading ----------------------------------------------------------------------------

    def iter_connection_pages(
        self, *, sort_order: str = "LAST_MODIFIED_ASCENDING", person_fields: str = PERSON_FIELDS
    ) -> Iterator[dict]:
        """The mailbox's contacts a page (1000) at a time, as the API answers: `connections`,
        `totalItems`, `nextPageToken`."""
        params = {"personFields": person_fields, "pageSize": PAGE_SIZE, "sortOrder": sort_order}
        token = None
        while True:
            page = self.api.request(
                "GET",
                "v1/people/me/connections",
                "list connections",
                params={**params, **({"pageToken": token} if token else {})},
            ).json()
            yield page
            token = page.get("nextPageToken")
            if not token:
                return

    def iter_connections(
        self, *, sort_order: str = "LAST_MODIFIED_ASCENDING", person_fields: str = PERSON_FIELDS
    ) -> Iterator[dict]:
        """The mailbox's contacts, streamed a page (1000) at a time."""
        for page in self.iter_connection_pages(sort_order=sort_order, person_fields=person_fields):
            yield from page.get("connections", [])

    def total(self) -> int:
        page = self.api.request(
            "GET",
            "v1/people/me/connections",
            "count connections",
            params={"personFields": "metadata", "pageSize": 1},
        ).json()
        return page_total(page)

    def iter_batch_get(
        self, names: Sequence[str], person_fields: str = PERSON_FIELDS
    ) -> Iterator[tuple[str, dict]]:
        """(resourceName, person) for those that exist, 200 names per call, streamed a call at
        a time."""
        for start in range(0, len(names), GET_BATCH):
            chunk = list(names[start : start + GET_BATCH])
            body = self.api.request(
                "GET",
                "v1/people:batchGet",
                "batch get",
                params=[("personFields", person_fields)] + [("resourceNames", n) for n in chunk],
            ).json()
            for item in body.get("responses", []):
                person = item.get("person")
                if person and not (item.get("status") or {}).get("code"):
                    yield item.get("requestedResourceName") or person["resourceName"], person

    def batch_get(
        self, names: Sequence[str], person_fields: str = PERSON_FIELDS
    ) -> dict[str, dict]:
        """resourceName -> person, for those that exist (200 names per call)."""
        return dict(self.iter_batch_get(names, person_fields))

    def group_resource_name(self, name: str) -> str | None:
        """The contact group with exactly this name (e.g. the legal-hold group)."""
        token = None
        while True:
            page = self.api.request(
                "GET",
                "v1/contactGroups",
                "list contact groups",
                params={"pageSize": 1000, **({"pageToken": token} if token else {})},
            ).json()
            for group in page.get("contactGroups", []):
                if group.get("name") == name or group.get("formattedName") == name:
                    return group["resourceName"]
            token = page.get("nextPageToken")
            if not token:
                return None

    # ---- writing ----------------------------------------------------------------------------

    def batch_delete(self, names: Sequence[str]) -> None:
        """Delete up to 500 contacts in one call. The API refuses the whole batch on a name that
        does not exist, so callers pass only names they just saw (see `delete_existing`)."""
        if len(names) > DELETE_BATCH:
            raise ValueError(f"batchDeleteContacts takes at most {DELETE_BATCH} names")
        self.api.request(
            "POST",
            "v1/people:batchDeleteContacts",
            "batch delete",
            json={"resourceNames": list(names)},
        )

    def delete_existing(self, names: Sequence[str]) -> tuple[list[str], list[str]]:
        """Delete what still exists among `names` (any number, 500 a call).

        Returns (deleted, already absent). A batch the API refuses because a name is gone is
        read back (getBatchGet) and sent again without the names that are gone.
        """
        deleted: list[str] = []
        absent: list[str] = []
        unique = list(dict.fromkeys(names))
        for start in range(0, len(unique), DELETE_BATCH):
            todo = unique[start : start + DELETE_BATCH]
            for _attempt in range(3):  # another deleter may race us between read and delete
                try:
                    self.batch_delete(todo)
                except VendorNotFound:
                    existing = self.batch_get(todo, person_fields="metadata")
                    absent += [n for n in todo if n not in existing]
                    todo = [n for n in todo if n in existing]
                    if not todo:
                        break
                    continue
                deleted += todo
                todo = []
                break
            if todo:
                raise VendorError(
                    "Google People", "batch delete", 404, "names kept disappearing; try again"
                )
        return deleted, absent

    def update_fields(
        self, name: str, changes: dict[str, list[dict]], person: dict | None = None
    ) -> dict:
        """Replace whole person fields with the current etag; an empty list empties the field.

        The etag is the one of `person` (its `etag` and `metadata`, e.g. from a batchGet just
        before) or else read just before the write; when someone changed the contact in between
        (stale etag, 400 FAILED_PRECONDITION) it is read again and the write retried.
        Returns the person's metadata after the write (its new updateTime).
        """
        if person is not None:
            try:
                return self._patch(name, changes, person)
            except VendorError as exc:
                if not _is_stale_etag(exc):
                    raise
        return self._update_reading_etag(name, changes)

    def update_computed(
        self,
        name: str,
        person_fields: str,
        compute: Callable[[dict], dict[str, list[dict]]],
        person: dict | None = None,
    ) -> dict:
        """Write changes that depend on what the contact holds (free text redacted in place):
        `compute` turns the person (read with `person_fields`, or `person` as read just before)
        into the fields to replace. A stale etag means someone changed the contact in between:
        it is read again and the changes computed again, so their edit is never overwritten with
        text from before it. Three tries in all. Returns the metadata after the write."""
        for attempt in range(STALE_ETAG_TRIES):
            if person is None:
                person = self.get_person(name, person_fields)
            try:
                return self._patch(name, compute(person), person)
            except VendorError as exc:
                if not _is_stale_etag(exc) or attempt == STALE_ETAG_TRIES - 1:
                    raise
                person = None
        raise AssertionError("unreachable")  # the loop returns or raises

    @retry(
        retry=retry_if_exception(_is_stale_etag),
        stop=stop_after_attempt(STALE_ETAG_TRIES),
        reraise=True,
    )
    def _update_reading_etag(self, name: str, changes: dict[str, list[dict]]) -> dict:
        return self._patch(name, changes, self.get_person(name, "metadata"))

    def _patch(self, name: str, changes: dict[str, list[dict]], person: dict) -> dict:
        sources = [
            {"type": s["type"], "id": s.get("id"), "etag": s.get("etag")}
            for s in (person.get("metadata") or {}).get("sources") or []
            if s.get("type") == "CONTACT"
        ]
        body = {
            "etag": person["etag"],
            "metadata": {"sources": sources},  # the docs require the contact source and its etag
            **{field: value for field, value in changes.items() if value},
        }
        return self.api.request(
            "PATCH",
            f"v1/{name}:updateContact",
            "update contact",
            params={"updatePersonFields": ",".join(changes), "personFields": "metadata"},
            json=body,
        ).json()

    def get_person(self, name: str, person_fields: str) -> dict:
        return self.api.request(
            "GET", f"v1/{name}", "get person", params={"personFields": person_fields}
        ).json()

    @property
    def calls(self) -> int:
        return self.api.calls
