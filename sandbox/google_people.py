"""Google People API v1 emulator (contacts of the delegated Workspace user) and its token endpoint.

Paths, parameters and JSON shapes follow the discovery document googleapiclient bundles
(googleapiclient/discovery_cache/documents/people.v1.json, revision 20251117), so
`googleapiclient.discovery.build("people", "v1", client_options={"api_endpoint": url})` works
against it unchanged. Each handler cites its reference page.

Errors use Google's shape, https://cloud.google.com/apis/design/errors#http_mapping :
{"error": {"code": 404, "message": "...", "status": "NOT_FOUND"}}.

Where the docs are silent the choice is stated at the handler.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from sandbox.clock import rfc3339_utc
from sandbox.credentials import CONTACTS_SCOPE, Credentials
from sandbox.google_groups import (
    EVERYONE,
    SYSTEM_GROUP,
    all_groups,
    find_group,
    formatted_name,
    takes_members,
)
from sandbox.google_oauth import TokenEndpoint
from sandbox.google_shapes import (
    DEFAULT_GROUP_FIELDS,
    GROUP_FIELDS,
    LEGAL_HOLD_GROUP,
    MY_CONTACTS,
    SINGLETONS,
    SORT_ORDERS,
    UPDATE_FIELDS,
    bad_request,
    field_mask,
    google_error,
    make_etag,
    page_token,
    person_mask,
    profile,
    read_page_token,
    render_person,
    strip_output_only,
)
from sandbox.google_sync import (
    ChangeLog,
    deleted_person,
    next_page_token,
    read_cursor,
    read_sync_token,
    sync_token,
    wants_sync_token,
)
from sandbox.http import HttpError, Request, Response, Service
from sandbox.store import Store

__all__ = ["LEGAL_HOLD_GROUP", "MY_CONTACTS", "GooglePeople"]


class GooglePeople(Service):
    name = "google"
    default_rate_limit = None  # People API quotas are per minute and per project; off by default.
    method_override = True  # a long GET comes as POST + X-HTTP-Method-Override (sandbox/http.py)

    def __init__(self, store: Store, credentials: Credentials) -> None:
        super().__init__(store)
        self.credentials = credentials
        self.changes = ChangeLog(store)
        self.tokens = TokenEndpoint(store, credentials)
        self._count_cache: int | None = None
        self.add("POST", "/token", self.tokens.handle, rate_limited=False, authenticated=False)
        self.add("GET", "/v1/people/me/connections", self.list_connections)
        self.add("GET", "/v1/people/{person}/connections", self.connections_of_others)
        self.add("GET", "/v1/people:batchGet", self.batch_get)
        self.add("POST", "/v1/people:batchDeleteContacts", self.batch_delete)
        self.add("DELETE", "/v1/people/{person}:deleteContact", self.delete_contact)
        self.add("PATCH", "/v1/people/{person}:updateContact", self.update_contact)
        self.add("GET", "/v1/people/{person}", self.get_person)
        self.add("GET", "/v1/contactGroups", self.list_groups)
        self.add("GET", "/v1/contactGroups/{group}", self.get_group)

    # -- the vendor's ways of saying no ---------------------------------------------------------

    def authenticate(self, req: Request) -> Response | None:
        header = req.headers.get("Authorization", "")
        found = None
        if header.startswith("Bearer "):
            found = self.tokens.lookup(header[7:].strip())
        if found is None:
            # https://cloud.google.com/apis/design/errors#http_mapping (401 UNAUTHENTICATED);
            # the message is the one Google APIs give for a missing or expired access token.
            response = google_error(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                "login cookie or other valid authentication credential. See "
                "https://developers.google.com/identity/sign-in/web/devconsole-project.",
            )
            response.headers["WWW-Authenticate"] = 'Bearer realm="https://accounts.google.com/"'
            return response
        subject, scopes = found
        if CONTACTS_SCOPE not in scopes:
            return google_error(
                403, "PERMISSION_DENIED", "Request had insufficient authentication scopes."
            )
        req.auth = subject
        return None

    def error(self, status: int, message: str) -> Response:
        statuses = {
            400: "INVALID_ARGUMENT",
            404: "NOT_FOUND",
            405: "INVALID_ARGUMENT",
            500: "INTERNAL",
            503: "UNAVAILABLE",
        }
        messages = {
            500: "Internal error encountered.",
            503: "The service is currently unavailable.",
            404: "Requested entity was not found.",
        }
        return google_error(status, statuses.get(status, "UNKNOWN"), messages.get(status, message))

    def rate_limited(self, retry_after: float) -> Response:
        # https://cloud.google.com/apis/design/errors#http_mapping: quota exhaustion is 429
        # RESOURCE_EXHAUSTED. Google documents exponential backoff for it, not a Retry-After
        # header, so none is sent (a client must back off on its own).
        return google_error(
            429,
            "RESOURCE_EXHAUSTED",
            "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute "
            "per user' of service 'people.googleapis.com' for consumer 'project_number:0'.",
        )

    # -- reading people --------------------------------------------------------------------------

    def _memberships(self, conn: sqlite3.Connection, ids: list[int]) -> dict[int, list[str]]:
        found: dict[int, list[str]] = {i: [] for i in ids}
        for start in range(0, len(ids), 900):
            chunk = ids[start : start + 900]
            marks = ",".join("?" * len(chunk))
            for person, group in conn.execute(
                f"SELECT person, group_id FROM g_memberships WHERE person IN ({marks})", chunk
            ):
                found[person].append(group)
        return found

    def _rows_to_people(
        self, conn: sqlite3.Connection, rows: list[tuple], fields: set[str]
    ) -> list[dict[str, Any]]:
        groups = self._memberships(conn, [r[0] for r in rows]) if "memberships" in fields else {}
        return [render_person(row, fields, groups.get(row[0])) for row in rows]

    def _find(self, conn: sqlite3.Connection, resource_name: str) -> tuple | None:
        if not resource_name.startswith("people/c"):
            return None
        return conn.execute(
            "SELECT id, person_id, version, update_time, given_name, family_name, data "
            "FROM g_people WHERE person_id = ?",
            (resource_name.removeprefix("people/"),),
        ).fetchone()

    def _total(self, conn: sqlite3.Connection) -> int:
        if self._count_cache is None:
            self._count_cache = conn.execute("SELECT COUNT(*) FROM g_people").fetchone()[0]
        return self._count_cache

    def list_connections(self, req: Request) -> Response:
        """GET v1/{resourceName=people/me}/connections - people.connections.list
        https://developers.google.com/people/api/rest/v1/people.connections/list
        (page and sync tokens: sandbox/google_sync.py)

        Sandbox choices where the docs are silent: page tokens are opaque keyset cursors (the
        sort key of the last person returned), so deleting people already returned does not
        shift later pages; `totalItems`/`totalPeople` count all contacts; an empty page omits
        `connections`, as proto3 JSON omits empty lists.
        """
        fields = person_mask(req)
        size = self._page_size(req)
        if req.arg("syncToken"):
            return self._changed_connections(req, fields, size)
        order = req.arg("sortOrder") or "LAST_MODIFIED_ASCENDING"
        if order not in SORT_ORDERS:
            raise bad_request(
                "Invalid value at 'sort_order' (type.googleapis.com/google.apps.people.v1."
                f'ListConnectionsRequest.SortOrder), "{order}"'
            )
        column, direction = SORT_ORDERS[order]
        where, params = "", []
        cursor = read_cursor(req) or {}
        if cursor:
            where = f"WHERE ({column}, id) {'>' if direction == 'ASC' else '<'} (?, ?)"
            params = list(cursor["k"])
        with self.store.connection() as conn:
            since = cursor.get("s")  # the change a full sync started at
            if since is None and wants_sync_token(req):
                since = self.changes.last(conn)
            rows = conn.execute(
                "SELECT id, person_id, version, update_time, given_name, family_name, data "
                f"FROM g_people {where} ORDER BY {column} {direction}, id {direction} LIMIT ?",
                [*params, size + 1],
            ).fetchall()
            more = len(rows) > size
            rows = rows[:size]
            body: dict[str, Any] = {}
            if rows:
                body["connections"] = self._rows_to_people(conn, rows, fields)
            if more:
                last = rows[-1]
                key = {"update_time": last[3], "given_name": last[4], "family_name": last[5]}
                body["nextPageToken"] = next_page_token(req, k=[key[column], last[0]], s=since)
            elif since is not None:
                body["nextSyncToken"] = sync_token(req, since, self.store.now_ms())
            total = self._total(conn)
        if total:
            body["totalPeople"] = total
            body["totalItems"] = total
        return Response(200, body)

    @staticmethod
    def _page_size(req: Request) -> int:
        size_arg = req.arg("pageSize") or "0"
        try:
            size = int(size_arg)
        except ValueError as exc:
            raise bad_request(f"Invalid value at 'page_size' (TYPE_INT32), \"{size_arg}\"") from exc
        if size == 0:
            size = 100
        if not 1 <= size <= 1000:
            raise bad_request("pageSize must be between 1 and 1000, inclusive.")
        return size

    def _changed_connections(self, req: Request, fields: set[str], size: int) -> Response:
        """An incremental sync: the people changed since the sync token, deleted ones as
        `metadata.deleted`; `nextSyncToken` on the last page."""
        since = read_sync_token(req, self.store.now_ms())
        cursor = read_cursor(req)
        with self.store.connection() as conn:
            after, upto = (cursor["c"], cursor["u"]) if cursor else (since, self.changes.last(conn))
            changed, more, total = self.changes.changed(conn, after, upto, size)
            found = {}
            for person_id, _ in changed:
                row = self._find(conn, f"people/{person_id}")
                if row is not None:
                    found[person_id] = self._rows_to_people(conn, [row], fields)[0]
        body: dict[str, Any] = {}
        if changed:
            body["connections"] = [found.get(pid) or deleted_person(pid) for pid, _ in changed]
        if more:
            body["nextPageToken"] = next_page_token(req, c=changed[-1][1], u=upto)
        else:
            body["nextSyncToken"] = sync_token(req, upto, self.store.now_ms())
        if total:
            body["totalPeople"] = total
            body["totalItems"] = total
        return Response(200, body)

    def connections_of_others(self, req: Request) -> Response:
        """people.connections.list: "resourceName: Required. ... Only `people/me` is valid." """
        raise bad_request("Only people/me is valid for resourceName.")

    def get_person(self, req: Request) -> Response:
        """GET v1/{resourceName=people/*} - people.get
        https://developers.google.com/people/api/rest/v1/people/get
        ("The request returns a 400 error if 'personFields' is not specified.")"""
        fields = person_mask(req)
        name = "people/" + req.params["person"]
        if name == "people/me":
            return Response(200, profile(req.auth, fields))
        with self.store.connection() as conn:
            row = self._find(conn, name)
            if row is None:
                return self.error(404, "")
            return Response(200, self._rows_to_people(conn, [row], fields)[0])

    def batch_get(self, req: Request) -> Response:
        """GET v1/people:batchGet - people.getBatchGet
        https://developers.google.com/people/api/rest/v1/people/getBatchGet
        Up to 200 resourceNames; a missing person is a PersonResponse with a NOT_FOUND `status`
        (and the deprecated httpStatusCode 404) inside a 200 answer."""
        fields = person_mask(req)
        names = req.args("resourceNames")
        if not names:
            raise bad_request("resourceNames must not be empty.")
        if len(names) > 200:
            raise bad_request("Too many resourceNames: at most 200 are allowed in one request.")
        responses = []
        with self.store.connection() as conn:
            for name in names:
                if name == "people/me":
                    person = profile(req.auth, fields)
                    responses.append(
                        {
                            "httpStatusCode": 200,
                            "person": person,
                            "requestedResourceName": name,
                            "status": {},
                        }
                    )
                    continue
                row = self._find(conn, name)
                if row is None:
                    responses.append(
                        {
                            "httpStatusCode": 404,
                            "requestedResourceName": name,
                            "status": {"code": 5, "message": "Requested entity was not found."},
                        }
                    )
                else:
                    person = self._rows_to_people(conn, [row], fields)[0]
                    responses.append(
                        {
                            "httpStatusCode": 200,
                            "person": person,
                            "requestedResourceName": name,
                            "status": {},
                        }
                    )
        return Response(200, {"responses": responses})

    # -- writing people --------------------------------------------------------------------------

    def delete_contact(self, req: Request) -> Response:
        """DELETE v1/{resourceName=people/*}:deleteContact - people.deleteContact
        https://developers.google.com/people/api/rest/v1/people/deleteContact
        Empty body on success; a person that is gone answers 404 NOT_FOUND."""
        name = "people/" + req.params["person"]
        with self.store.write() as conn:
            row = self._find(conn, name)
            if row is None:
                return self.error(404, "")
            self._delete_rows(conn, [row[0]])
        return Response(200, {})

    def batch_delete(self, req: Request) -> Response:
        """POST v1/people:batchDeleteContacts - people.batchDeleteContacts
        https://developers.google.com/people/api/rest/v1/people/batchDeleteContacts
        ("Allows up to 500 resource names in a single request"; empty body on success.)
        Docs silent on unknown names: the sandbox refuses the whole batch with 404 NOT_FOUND
        and deletes nothing, so a client must not assume partial success."""
        try:
            body = req.json()
        except ValueError as exc:
            raise bad_request("Invalid JSON payload received.") from exc
        names = body.get("resourceNames") if isinstance(body, dict) else None
        if not names:
            raise bad_request("resourceNames must not be empty.")
        if len(names) > 500:
            raise bad_request("Too many resource names: a batch may delete at most 500 contacts.")
        with self.store.write() as conn:
            pks = []
            for name in dict.fromkeys(names):
                row = self._find(conn, str(name))
                if row is None:
                    return self.error(404, "")
                pks.append(row[0])
            self._delete_rows(conn, pks)
        return Response(200, {})

    def _delete_rows(self, conn: sqlite3.Connection, pks: list[int]) -> None:
        for start in range(0, len(pks), 900):
            chunk = pks[start : start + 900]
            marks = ",".join("?" * len(chunk))
            gone = conn.execute(f"SELECT person_id FROM g_people WHERE id IN ({marks})", chunk)
            self.changes.record(conn, [r[0] for r in gone.fetchall()], deleted=True)
            conn.execute(f"DELETE FROM g_people WHERE id IN ({marks})", chunk)
            conn.execute(f"DELETE FROM g_memberships WHERE person IN ({marks})", chunk)
        self._count_cache = None

    def update_contact(self, req: Request) -> Response:
        """PATCH v1/{resourceName=people/*}:updateContact - people.updateContact
        https://developers.google.com/people/api/rest/v1/people/updateContact
        - `updatePersonFields` required; the listed fields are replaced.
        - the person's etag must match: a stale one is 400 FAILED_PRECONDITION ("The server
          returns a 400 error with reason "failedPrecondition" if person.metadata.sources.etag
          is different than the contact's etag"). The top-level person.etag is accepted as well,
          with Google's message for it (googleapis/google-api-python-client#2417).
        - singleton fields (names, genders, birthdays, biographies) take one item; updating
          memberships needs at least one contact group membership.
        - every write moves updateTime to now and changes both etags.
        """
        fields = field_mask(
            req.arg("updatePersonFields"), UPDATE_FIELDS, "updatePersonFields", required=True
        )
        out_fields = person_mask(req, required=False)
        try:
            body = req.json()
        except ValueError as exc:
            raise bad_request("Invalid JSON payload received.") from exc
        if not isinstance(body, dict):
            raise bad_request("Invalid JSON payload received.")
        name = "people/" + req.params["person"]
        with self.store.write() as conn:
            row = self._find(conn, name)
            if row is None:
                return self.error(404, "")
            pk, person_id, version, *_ = row
            self._check_etag(body, person_id, version)
            data = json.loads(row[6])
            groups = None
            for field in fields:
                items = body.get(field) or []
                if not isinstance(items, list):
                    raise bad_request(f"Invalid value at 'person.{field}': expected a list.")
                if field in SINGLETONS and len(items) > 1:
                    raise bad_request(
                        f"Only one {field} is allowed on a contact: {field} is a singleton."
                    )
                if field == "memberships":
                    groups = self._new_groups(conn, items)
                    continue
                cleaned = strip_output_only(items)
                if cleaned:
                    data[field] = cleaned
                else:
                    data.pop(field, None)
            names = data.get("names") or [{}]
            now = self.store.now_ms()
            conn.execute(
                "UPDATE g_people SET version = version + 1, update_time = ?, given_name = ?, "
                "family_name = ?, data = ? WHERE id = ?",
                (
                    now,
                    names[0].get("givenName", ""),
                    names[0].get("familyName", ""),
                    json.dumps(data, ensure_ascii=False),
                    pk,
                ),
            )
            self.changes.record(conn, [person_id], deleted=False)
            if groups is not None:
                conn.execute("DELETE FROM g_memberships WHERE person = ?", (pk,))
                conn.executemany(
                    "INSERT INTO g_memberships (group_id, person) VALUES (?, ?)",
                    [(g, pk) for g in groups],
                )
            row = self._find(conn, name)
            return Response(200, self._rows_to_people(conn, [row], out_fields)[0])

    @staticmethod
    def _check_etag(body: dict[str, Any], person_id: str, version: int) -> None:
        sources = (body.get("metadata") or {}).get("sources") or []
        source_etags = [
            s.get("etag") for s in sources if s.get("type") == "CONTACT" and s.get("etag")
        ]
        if body.get("etag"):
            if body["etag"] != make_etag("person", person_id, version):
                raise HttpError(
                    google_error(
                        400,
                        "FAILED_PRECONDITION",
                        "Request person.etag is different than the current person.etag. "
                        "Clear local cache and get the latest person.",
                    )
                )
        elif source_etags:
            if source_etags[0] != make_etag("source", person_id, version):
                raise HttpError(
                    google_error(
                        400,
                        "FAILED_PRECONDITION",
                        "Request person.metadata.sources.etag is different than the current "
                        "person.metadata.sources.etag. Clear local cache and get the latest "
                        "person.",
                    )
                )
        else:
            raise bad_request(
                "Request must set person.etag or person.metadata.sources.etag so that the "
                "update can be made safely."
            )

    @staticmethod
    def _new_groups(conn: sqlite3.Connection, items: list[dict[str, Any]]) -> list[str]:
        groups = []
        for item in items:
            membership = (item or {}).get("contactGroupMembership") or {}
            resource = membership.get("contactGroupResourceName", "")
            if resource:
                groups.append(resource.removeprefix("contactGroups/"))
        if not groups:
            raise bad_request(
                "Updating memberships requires at least one contact group membership."
            )
        for group in groups:
            row = find_group(conn, group)
            if row is None:
                raise bad_request(f"Contact group contactGroups/{group} does not exist.")
            if not takes_members(row):
                raise bad_request(
                    f"Contact group contactGroups/{group} is a system group that takes no new "
                    "members."
                )
        return [g for g in dict.fromkeys(groups) if g != MY_CONTACTS]

    # -- contact groups ---------------------------------------------------------------------------

    def _group(self, conn: sqlite3.Connection, row: tuple, fields: set[str], max_members: int):
        group_id, name, group_type, version, update_time = row
        group: dict[str, Any] = {"resourceName": f"contactGroups/{group_id}"}
        if group_type != SYSTEM_GROUP:  # system groups come without etag and metadata
            group["etag"] = make_etag("group", group_id, version)
            if "metadata" in fields:
                group["metadata"] = {"updateTime": rfc3339_utc(update_time)}
        if "groupType" in fields:
            group["groupType"] = group_type
        if "name" in fields:
            group["name"] = name
            group["formattedName"] = formatted_name(group_id, name)
        if "memberCount" in fields or max_members:
            if group_id in EVERYONE:
                count = self._total(conn)
            else:
                count = conn.execute(
                    "SELECT COUNT(*) FROM g_memberships WHERE group_id = ?", (group_id,)
                ).fetchone()[0]
            if "memberCount" in fields and count:
                group["memberCount"] = count
        if max_members:
            if group_id in EVERYONE:
                members = conn.execute(
                    "SELECT person_id FROM g_people ORDER BY id LIMIT ?", (max_members,)
                ).fetchall()
            else:
                members = conn.execute(
                    "SELECT p.person_id FROM g_memberships m JOIN g_people p ON p.id = m.person "
                    "WHERE m.group_id = ? ORDER BY m.person LIMIT ?",
                    (group_id, max_members),
                ).fetchall()
            if members:
                group["memberResourceNames"] = [f"people/{m[0]}" for m in members]
        return group

    @staticmethod
    def _group_mask(req: Request) -> set[str]:
        value = req.arg("groupFields")
        if not value:
            return set(DEFAULT_GROUP_FIELDS)
        paths = {p.strip() for p in value.split(",") if p.strip()}
        bad = paths - GROUP_FIELDS
        if bad:
            raise bad_request(f'Invalid groupFields mask path: "{sorted(bad)[0]}".')
        return paths

    def list_groups(self, req: Request) -> Response:
        """GET v1/contactGroups - contactGroups.list
        https://developers.google.com/people/api/rest/v1/contactGroups/list
        ("Members of the contact groups are not populated"; pageSize 1-1000, default 30.)
        The account's own groups and the system groups: sandbox/google_groups.py."""
        fields = self._group_mask(req)
        size = int(req.arg("pageSize") or 0) or 30
        if not 1 <= size <= 1000:
            raise bad_request("pageSize must be between 1 and 1000, inclusive.")
        offset = int(read_page_token(req.arg("pageToken"))["offset"]) if req.arg("pageToken") else 0
        with self.store.connection() as conn:
            groups = all_groups(conn)
            rows = groups[offset : offset + size + 1]
            body: dict[str, Any] = {
                "contactGroups": [self._group(conn, r, fields, 0) for r in rows[:size]],
                "totalItems": len(groups),
            }
        if len(rows) > size:
            body["nextPageToken"] = page_token({"offset": offset + size})
        return Response(200, body)

    def get_group(self, req: Request) -> Response:
        """GET v1/{resourceName=contactGroups/*} - contactGroups.get
        https://developers.google.com/people/api/rest/v1/contactGroups/get
        (`maxMembers` defaults to 0: no memberResourceNames; memberCount counts them all.)"""
        fields = self._group_mask(req)
        try:
            max_members = int(req.arg("maxMembers") or 0)
        except ValueError as exc:
            raise bad_request("maxMembers must be an integer.") from exc
        with self.store.connection() as conn:
            row = find_group(conn, req.params["group"])
            if row is None:
                return self.error(404, "")
            return Response(200, self._group(conn, row, fields, max_members))
