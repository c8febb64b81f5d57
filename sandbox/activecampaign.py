"""ActiveCampaign API v3 emulator (contacts, tags, lists and what a contact's export needs).

Written from https://developers.activecampaign.com/reference (each handler cites its page; the
response shapes are the docs' examples). Conventions from the docs:
- auth: header `Api-Token`; a missing or wrong token is 403
  (https://developers.activecampaign.com/reference/authentication,
  https://developers.activecampaign.com/reference/errors);
- every value is a string, ids included; `cdate`/`udate` carry the account's UTC offset;
  `ip` is the IPv4 address as an integer string;
- collections: `limit` (default 20, max 100), `offset`, totals in `meta.total` as a string
  (https://developers.activecampaign.com/reference/pagination);
- 5 requests per second per account, then 429 with Retry-After; RateLimit-Limit and
  RateLimit-Remaining on every answer (https://developers.activecampaign.com/reference/rate-limits);
- errors in two shapes, each where the docs show it: {"message": ...} (404s of /contacts/{id})
  and {"errors": [{"title", "detail", "code", "source"}]} (422s, POST /contactTags 404).

Every write to a contact (PUT, tagging, list status) sets its `udate` to the sandbox's now, as
the real API does.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import tzinfo
from typing import Any

from sandbox import ac_records as records
from sandbox.ac_fields import CustomFields
from sandbox.ac_records import CONTACT_COLUMNS, errors, message
from sandbox.ac_totals import Totals
from sandbox.clock import ac_local, account_zone, parse_iso_ms
from sandbox.credentials import Credentials
from sandbox.http import HttpError, Request, Response, Service
from sandbox.store import Store

DEFAULT_TIMEZONE = "America/Chicago"
ORDERABLE = {
    "id": "c.id",
    "cdate": "c.cdate",
    "email": "c.email",
    "first_name": "c.first_name",
    "last_name": "c.last_name",
    "name": "c.first_name || ' ' || c.last_name",
}
DOCUMENTED_RATE = 5  # "5 requests per second per account" (reference/rate-limits)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _int_arg(req: Request, name: str) -> int | None:
    value = req.arg(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise HttpError(errors(400, f"Invalid value for {name}", code="invalid")) from exc


class ActiveCampaign(Service):
    name = "activecampaign"
    default_rate_limit = DOCUMENTED_RATE

    def __init__(self, store: Store, credentials: Credentials) -> None:
        super().__init__(store)
        self.credentials = credentials
        self.totals = Totals()
        api = "/api/3"
        self.add("GET", f"{api}/contacts", self.list_contacts)
        self.add("GET", f"{api}/contacts/{{id}}", self.get_contact)
        self.add("PUT", f"{api}/contacts/{{id}}", self.update_contact)
        self.add("DELETE", f"{api}/contacts/{{id}}", self.delete_contact)
        self.add("GET", f"{api}/contacts/{{id}}/contactTags", self.contact_tags)
        self.add("GET", f"{api}/contacts/{{id}}/contactLists", self.contact_lists)
        self.add("GET", f"{api}/contacts/{{id}}/fieldValues", self.field_values)
        self.add("GET", f"{api}/contacts/{{id}}/trackingLogs", self.tracking_logs)
        self.add("GET", f"{api}/contacts/{{id}}/geoIps", self.geo_ips)
        self.add("GET", f"{api}/tags", self.list_tags)
        self.add("POST", f"{api}/contactTags", self.add_contact_tag)
        self.add("DELETE", f"{api}/contactTags/{{id}}", self.remove_contact_tag)
        self.add("GET", f"{api}/lists", self.list_lists)
        self.add("POST", f"{api}/contactLists", self.update_list_status)
        self.custom_fields = CustomFields(self)  # /fields and /fieldValues (ac_fields.py)

    # -- the vendor's ways of saying no ---------------------------------------------------------

    def authenticate(self, req: Request) -> Response | None:
        token = req.headers.get("Api-Token")
        if token != self.credentials.ac_token:
            # 403: "The request could not be authenticated" (reference/errors). The body is the
            # {"message": ...} shape the docs give for 403s.
            return message(403, "Forbidden")
        return None

    def error(self, status: int, text: str) -> Response:
        return message(status, text)

    def rate_limited(self, retry_after: float) -> Response:
        # reference/rate-limits: "we will respond with a 429 Too Many Requests response. This
        # response will include headers for a duration in seconds (ex. Retry-After: 30)".
        seconds = max(1, int(retry_after + 0.999))
        response = message(429, "Too Many Requests")
        response.headers.update(
            {
                "Retry-After": str(seconds),
                "RateLimit-Limit": str(int(self.limiter.per_second or DOCUMENTED_RATE)),
                "RateLimit-Remaining": "0",
            }
        )
        return response

    def rate_limit_headers(self) -> dict[str, str]:
        """reference/rate-limits: "We also provide additional headers for the rate limit (ex.
        RateLimit-Limit: 5) and remaining requests (ex. RateLimit-Remaining: 3) as additional
        context to adjust traffic volume as needed": on every answer the limit counts, not only
        on a 429 (a remaining count of 3 is no 429's). With the limit lifted (tests), none."""
        remaining = self.limiter.remaining()
        if remaining is None:
            return {}
        return {
            "RateLimit-Limit": str(int(self.limiter.per_second or 0)),
            "RateLimit-Remaining": str(remaining),
        }

    # -- helpers --------------------------------------------------------------------------------

    @property
    def zone(self) -> tzinfo:
        return account_zone(self.store.get_setting("ac_timezone", DEFAULT_TIMEZONE))

    def _row(self, conn: sqlite3.Connection, contact_id: str) -> tuple | None:
        if not contact_id.isdigit():
            return None
        return conn.execute(
            f"SELECT {CONTACT_COLUMNS} FROM ac_contacts WHERE id = ?", (int(contact_id),)
        ).fetchone()

    @staticmethod
    def _not_found(contact_id: str) -> Response:
        # reference/get-contact 404 example.
        return message(404, f"No Result found for Subscriber with id {contact_id}")

    def _touch(self, conn: sqlite3.Connection, contact_id: int) -> None:
        """A write to a contact's related records is a write to the contact: udate is now."""
        conn.execute(
            "UPDATE ac_contacts SET udate = ? WHERE id = ?", (self.store.now_ms(), contact_id)
        )
        self.totals.changed(conn, contact_id)

    def _date_filter(self, value: str, zone: tzinfo) -> int:
        try:
            return parse_iso_ms(value, zone)
        except ValueError as exc:
            raise HttpError(errors(400, "Invalid date filter", code="invalid")) from exc

    # -- contacts -------------------------------------------------------------------------------

    def list_contacts(self, req: Request) -> Response:
        """GET /contacts - List, search, and filter contacts. https://developers.activecampaign.com/reference/list-all-contacts

        - `email`: "Email address of the contact you want to get": an exact match. The docs are
          silent on case; the sandbox matches case-insensitively, as MySQL's default collation
          does. `email_like` ("contain the given value in the email address") and `search`
          ("match the given value in the contact names, organization, phone or email") are
          substring matches, emulated as such: `search=an@x.nl` also finds jan@x.nl.
        - `ids`: "Filter contacts by ID. Can be repeated": `ids[]=1&ids[]=2` and `ids=1,2`.
        - `filters[created_before|created_after|updated_before|updated_after]`: a date or
          date-time; without an offset it is read in the account's time zone. Docs silent on
          the edges: before is strict (<), after is strict (>).
        - `orders[<field>]=ASC|DESC` for id, cdate, email, first_name, last_name, name, in the
          order given. Without an order the docs' example list is sorted by e-mail: so is this
          one. Paging by offset through a changing set can skip contacts; the docs' performance
          tip is `orders[id]=ASC` with `id_greater` (reference/pagination).
        """
        zone = self.zone
        where: list[str] = []
        params: list[Any] = []
        ids = [i for v in req.args("ids") + req.args("ids[]") for i in v.split(",") if i.strip()]
        if ids:
            if not all(i.strip().isdigit() for i in ids):
                raise HttpError(errors(400, "Invalid value for ids", code="invalid"))
            where.append(f"c.id IN ({','.join('?' * len(ids))})")
            params += [int(i) for i in ids]
        if req.arg("email") is not None:
            where.append("c.email = ?")
            params.append(req.arg("email"))
        if req.arg("email_like"):
            where.append("c.email LIKE ? ESCAPE '\\'")
            params.append(f"%{_like(req.arg('email_like'))}%")
        if req.arg("search"):
            term = f"%{_like(req.arg('search'))}%"
            where.append(
                "(c.first_name LIKE ? ESCAPE '\\' OR c.last_name LIKE ? ESCAPE '\\' "
                "OR c.email LIKE ? ESCAPE '\\' OR c.phone LIKE ? ESCAPE '\\' "
                "OR (c.first_name || ' ' || c.last_name) LIKE ? ESCAPE '\\')"
            )
            params += [term] * 5
        if req.arg("phone"):
            where.append("c.phone LIKE ? ESCAPE '\\'")
            params.append(f"{_like(req.arg('phone'))}%")
        # The id range is kept apart: totals are counted from the ids matching the rest.
        id_greater, id_less, exclude = (
            _int_arg(req, "id_greater"),
            _int_arg(req, "id_less"),
            _int_arg(req, "exclude"),
        )
        id_where, id_params = [], []
        for value, op in ((id_greater, ">"), (id_less, "<"), (exclude, "!=")):
            if value is not None:
                id_where.append(f"c.id {op} ?")
                id_params.append(value)
        tagid = _int_arg(req, "tagid")
        if tagid is not None:
            where.append("c.id IN (SELECT contact FROM ac_contact_tags WHERE tag = ?)")
            params.append(tagid)
        listid = _int_arg(req, "listid")
        if listid is not None:
            where.append("c.id IN (SELECT contact FROM ac_contact_lists WHERE list = ?)")
            params.append(listid)
        for name, column, op in (
            ("created_before", "cdate", "<"),
            ("created_after", "cdate", ">"),
            ("updated_before", "udate", "<"),
            ("updated_after", "udate", ">"),
        ):
            value = req.arg(f"filters[{name}]")
            if value:
                where.append(f"c.{column} {op} ?")
                params.append(self._date_filter(value, zone))

        order_sql = []
        for key in req.query:
            match = re.fullmatch(r"orders\[(\w+)\]", key)
            if match and match.group(1) in ORDERABLE:
                direction = "DESC" if req.arg(key, "").upper() == "DESC" else "ASC"
                order_sql.append(f"{ORDERABLE[match.group(1)]} {direction}")
        if not order_sql:
            order_sql.append("c.email ASC")
        order_sql.append("c.id ASC")

        limit = _int_arg(req, "limit")
        limit = 20 if limit is None or limit <= 0 else min(limit, 100)
        offset = max(_int_arg(req, "offset") or 0, 0)
        conditions = where + id_where
        clause = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        with self.store.connection() as conn:
            rows = conn.execute(
                f"SELECT {', '.join('c.' + c.strip() for c in CONTACT_COLUMNS.split(','))} "
                f"FROM ac_contacts c {clause} ORDER BY {', '.join(order_sql)} LIMIT ? OFFSET ?",
                [*params, *id_params, limit, offset],
            ).fetchall()
            total = self.totals.count(conn, where, params, id_greater, id_less, exclude)
        return Response(
            200,
            {
                "scoreValues": [],
                "contacts": [records.contact(r, req.base_url, zone) for r in rows],
                "meta": {
                    "total": str(total),
                    "page_input": {
                        "segmentid": None,
                        "formid": 0,
                        "listid": listid or 0,
                        "tagid": tagid or 0,
                        "limit": limit,
                        "offset": offset,
                        "search": None,
                        "sort": None,
                        "seriesid": 0,
                        "waitid": 0,
                        "status": -1,
                        "forceQuery": 0,
                        "cacheid": "",
                    },
                },
            },
        )

    def get_contact(self, req: Request) -> Response:
        """GET /contacts/{id} - Retrieve a contact. https://developers.activecampaign.com/reference/get-contact
        The contact plus its related records; 404 {"message": "No Result found for Subscriber
        with id N"} when it does not exist."""
        zone = self.zone
        with self.store.connection() as conn:
            row = self._row(conn, req.params["id"])
            if row is None:
                return self._not_found(req.params["id"])
            cid = row[0]
            lists = records.contact_lists(conn, cid, req.base_url, zone)
            values = records.field_values(conn, cid, req.base_url, zone)
            geo = records.geo_ips(conn, cid, req.base_url, zone)
            contact = records.contact(row, req.base_url, zone)
        contact.update(
            {
                "contactAutomations": [],
                "contactLists": [item["id"] for item in lists],
                "fieldValues": [item["id"] for item in values],
                "geoIps": [item["id"] for item in geo],
                "deals": [],
                "accountContacts": [],
            }
        )
        return Response(
            200,
            {
                "contactAutomations": [],
                "contactLists": lists,
                "deals": [],
                "fieldValues": values,
                "geoAddresses": [records.geo_address(item, zone) for item in geo],
                "geoIps": [
                    {k: v for k, v in item.items() if not k.startswith("_")} for item in geo
                ],
                "contact": contact,
            },
        )

    def update_contact(self, req: Request) -> Response:
        """PUT /contacts/{id} - Update a contact. https://developers.activecampaign.com/reference/update-a-contact-new
        Body {"contact": {"email", "firstName", "lastName", "phone", "fieldValues": [{field,
        value}]}}; answers {"fieldValues": [...], "contact": {...}}. `udate` becomes now.
        An invalid e-mail is 422 in the docs' {"errors": [...]} shape (reference/create-a-new-
        contact shows it for a duplicate, code "duplicate")."""
        try:
            body = req.json()
        except ValueError:
            return errors(400, "Invalid JSON", code="invalid")
        contact = body.get("contact") if isinstance(body, dict) else None
        if not isinstance(contact, dict):
            return errors(422, "Missing attribute", pointer="/data/attributes/contact")
        zone = self.zone
        now = self.store.now_ms()
        with self.store.write() as conn:
            row = self._row(conn, req.params["id"])
            if row is None:
                return self._not_found(req.params["id"])
            cid = row[0]
            changes: dict[str, Any] = {}
            if "email" in contact:
                email = str(contact["email"] or "").strip()
                if not _EMAIL.match(email):
                    return errors(
                        422,
                        "Email address is not valid.",
                        code="email_invalid",
                        pointer="/data/attributes/email",
                    )
                clash = conn.execute(
                    "SELECT 1 FROM ac_contacts WHERE email = ? AND id != ?", (email, cid)
                ).fetchone()
                if clash:
                    return errors(
                        422,
                        "Email address already exists in the system",
                        code="duplicate",
                        pointer="/data/attributes/email",
                    )
                changes["email"] = email
            for key, column in (
                ("firstName", "first_name"),
                ("lastName", "last_name"),
                ("phone", "phone"),
            ):
                if key in contact:
                    changes[column] = "" if contact[key] is None else str(contact[key])
            changes["udate"] = now
            conn.execute(
                f"UPDATE ac_contacts SET {', '.join(f'{k} = ?' for k in changes)} WHERE id = ?",
                [*changes.values(), cid],
            )
            for item in contact.get("fieldValues") or []:
                field, value = int(item.get("field")), item.get("value")
                updated = conn.execute(
                    "UPDATE ac_field_values SET value = ?, udate = ? "
                    "WHERE contact = ? AND field = ?",
                    (value, now, cid, field),
                ).rowcount
                if not updated:
                    conn.execute(
                        "INSERT INTO ac_field_values (contact, field, value, cdate, udate) "
                        "VALUES (?, ?, ?, ?, ?)",
                        (cid, field, value, now, now),
                    )
            self.totals.changed(conn, cid)
            row = self._row(conn, str(cid))
            values = records.field_values(conn, cid, req.base_url, zone)
        return Response(
            200, {"fieldValues": values, "contact": records.contact(row, req.base_url, zone)}
        )

    def delete_contact(self, req: Request) -> Response:
        """DELETE /contacts/{id} - Delete a contact.
        https://developers.activecampaign.com/reference/delete-contact
        200 {} ; a contact that is gone: 404 {"message": "No result found for contact with id N"}.
        """
        with self.store.write() as conn:
            row = self._row(conn, req.params["id"])
            if row is None:
                return message(404, f"No result found for contact with id {req.params['id']}")
            cid = row[0]
            conn.execute("DELETE FROM ac_contacts WHERE id = ?", (cid,))
            for table in (
                "ac_contact_tags",
                "ac_contact_lists",
                "ac_field_values",
                "ac_tracking_logs",
                "ac_geo_ips",
            ):
                conn.execute(f"DELETE FROM {table} WHERE contact = ?", (cid,))
            self.totals.changed(conn, cid)
        return Response(200, {})

    # -- a contact's related records ----------------------------------------------------------

    def _related(self, req: Request, key: str, fetch) -> Response:
        zone = self.zone
        with self.store.connection() as conn:
            row = self._row(conn, req.params["id"])
            if row is None:
                return self._not_found(req.params["id"])
            items = fetch(conn, row[0], req.base_url, zone)
        if key == "geoIps":
            items = [{k: v for k, v in i.items() if not k.startswith("_")} for i in items]
        return Response(200, {key: items})

    def contact_tags(self, req: Request) -> Response:
        """GET /contacts/{id}/contactTags - https://developers.activecampaign.com/reference/retrieve-contact-tags
        ("Returns every association the contact has: limit and offset are ignored. Associations
        whose tag has since been deleted are not shown. Returns 404 if the contact does not
        exist.")"""
        return self._related(req, "contactTags", records.contact_tags)

    def contact_lists(self, req: Request) -> Response:
        """GET /contacts/{id}/contactLists - https://developers.activecampaign.com/reference/retrieve-contact-list-memberships"""
        return self._related(req, "contactLists", records.contact_lists)

    def field_values(self, req: Request) -> Response:
        """GET /contacts/{id}/fieldValues - https://developers.activecampaign.com/reference/retrieve-contact-field-values"""
        return self._related(req, "fieldValues", records.field_values)

    def geo_ips(self, req: Request) -> Response:
        """GET /contacts/{id}/geoIps - https://developers.activecampaign.com/reference/retrieve-contact-geo-ips"""
        return self._related(req, "geoIps", records.geo_ips)

    def tracking_logs(self, req: Request) -> Response:
        """GET /contacts/{id}/trackingLogs - https://developers.activecampaign.com/reference/retrieve-contact-tracking-logs
        (entry shape from https://developers.activecampaign.com/reference/get-contacts-tracking-logsevents)."""

        return self._related(req, "trackingLogs", records.tracking_logs)

    # -- tags -----------------------------------------------------------------------------------

    def list_tags(self, req: Request) -> Response:
        """GET /tags - List all tags. https://developers.activecampaign.com/reference/retrieve-all-tags
        `search`: "contains" is assumed; `filters[search][eq|neq|contains|starts_with]`."""
        zone = self.zone
        where, params = [], []
        if req.arg("search"):
            where.append("tag LIKE ? ESCAPE '\\'")
            params.append(f"%{_like(req.arg('search'))}%")
        for op, sql in (
            ("eq", "tag = ?"),
            ("neq", "tag != ?"),
            ("contains", "tag LIKE ? ESCAPE '\\'"),
            ("starts_with", "tag LIKE ? ESCAPE '\\'"),
        ):
            value = req.arg(f"filters[search][{op}]")
            if value is not None:
                where.append(sql)
                if op == "contains":
                    value = f"%{_like(value)}%"
                elif op == "starts_with":
                    value = f"{_like(value)}%"
                params.append(value)
        limit = _int_arg(req, "limit")
        limit = 20 if limit is None or limit <= 0 else min(limit, 100)
        offset = max(_int_arg(req, "offset") or 0, 0)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        with self.store.connection() as conn:
            rows = conn.execute(
                f"SELECT id, tag, tag_type, description, cdate FROM ac_tags {clause} "
                "ORDER BY id LIMIT ? OFFSET ?",
                [*params, limit, offset],
            ).fetchall()
            total = conn.execute(f"SELECT COUNT(*) FROM ac_tags {clause}", params).fetchone()[0]
        tags = [
            {
                "tagType": tag_type,
                "tag": tag,
                "description": description,
                "cdate": ac_local(cdate, zone),
                "links": {"contactGoalTags": f"{req.base_url}/api/3/tags/{tid}/contactGoalTags"},
                "id": str(tid),
            }
            for tid, tag, tag_type, description, cdate in rows
        ]
        return Response(200, {"tags": tags, "meta": {"total": str(total)}})

    def add_contact_tag(self, req: Request) -> Response:
        """POST /contactTags - Add a tag to a contact. https://developers.activecampaign.com/reference/create-contact-tag
        201 {"contactTag": {...}}; unknown contact: 404 {"errors": [{"title": "Not Found",
        "detail": "Contact not found"}]}; missing contact/tag: 422 "Missing attribute".
        Docs silent on a tag the contact already has: the existing association is returned."""
        try:
            body = req.json()
        except ValueError:
            return errors(400, "Invalid JSON", code="invalid")
        item = body.get("contactTag") if isinstance(body, dict) else None
        if not isinstance(item, dict) or not str(item.get("contact") or "").isdigit():
            return errors(422, "Missing attribute", pointer="/data/attributes/contact")
        if not str(item.get("tag") or "").isdigit():
            return errors(422, "Missing attribute", pointer="/data/attributes/tag")
        cid, tag = int(item["contact"]), int(item["tag"])
        now = self.store.now_ms()
        with self.store.write() as conn:
            if self._row(conn, str(cid)) is None:
                response = errors(404, "Not Found", detail="Contact not found")
                response.body["errors"][0]["status"] = 404
                return response
            if conn.execute("SELECT 1 FROM ac_tags WHERE id = ?", (tag,)).fetchone() is None:
                response = errors(404, "Not Found", detail="Tag not found")
                response.body["errors"][0]["status"] = 404
                return response
            existing = conn.execute(
                "SELECT id, cdate FROM ac_contact_tags WHERE contact = ? AND tag = ?", (cid, tag)
            ).fetchone()
            if existing:
                ctid, cdate = existing
            else:
                ctid = conn.execute(
                    "INSERT INTO ac_contact_tags (contact, tag, cdate) VALUES (?, ?, ?)",
                    (cid, tag, now),
                ).lastrowid
                cdate = now
                self._touch(conn, cid)
        base = req.base_url
        return Response(
            201,
            {
                "contactTag": {
                    "cdate": ac_local(cdate, self.zone),
                    "contact": str(cid),
                    "id": str(ctid),
                    "links": {
                        "contact": f"{base}/api/3/contactTags/{ctid}/contact",
                        "tag": f"{base}/api/3/contactTags/{ctid}/tag",
                    },
                    "tag": str(tag),
                }
            },
        )

    def remove_contact_tag(self, req: Request) -> Response:
        """DELETE /contactTags/{id} - Remove a tag from a contact. https://developers.activecampaign.com/reference/remove-a-contacts-tag
        200 {}; 404 {"message": "No Result found for SubscriberTag with id N"}."""
        ctid = req.params["id"]
        with self.store.write() as conn:
            row = conn.execute(
                "SELECT contact FROM ac_contact_tags WHERE id = ?",
                (int(ctid) if ctid.isdigit() else -1,),
            ).fetchone()
            if row is None:
                return message(404, f"No Result found for SubscriberTag with id {ctid}")
            conn.execute("DELETE FROM ac_contact_tags WHERE id = ?", (int(ctid),))
            self._touch(conn, row[0])
        return Response(200, {})

    # -- lists ----------------------------------------------------------------------------------

    def list_lists(self, req: Request) -> Response:
        """GET /lists - Retrieve all lists. https://developers.activecampaign.com/reference/retrieve-all-lists"""
        zone = self.zone
        limit = _int_arg(req, "limit")
        limit = 20 if limit is None or limit <= 0 else min(limit, 100)
        offset = max(_int_arg(req, "offset") or 0, 0)
        name = req.arg("filters[name]")
        clause, params = ("WHERE name = ?", [name]) if name else ("", [])
        with self.store.connection() as conn:
            rows = conn.execute(
                f"SELECT id, name, stringid, cdate FROM ac_lists {clause} "
                "ORDER BY id LIMIT ? OFFSET ?",
                [*params, limit, offset],
            ).fetchall()
            total = conn.execute(f"SELECT COUNT(*) FROM ac_lists {clause}", params).fetchone()[0]
        lists = [
            {
                "stringid": stringid,
                "userid": "1",
                "name": lname,
                "cdate": ac_local(cdate, zone),
                "p_use_tracking": "1",
                "private": "0",
                "to_name": "Subscriber",
                "optinoptout": "1",
                "sender_name": "KlantenScoren",
                "sender_country": "Nederland",
                "links": {
                    "contactGoalLists": f"{req.base_url}/api/3/lists/{lid}/contactGoalLists",
                    "user": f"{req.base_url}/api/3/lists/{lid}/user",
                },
                "id": str(lid),
                "user": "1",
            }
            for lid, lname, stringid, cdate in rows
        ]
        return Response(200, {"lists": lists, "meta": {"total": str(total)}})

    def update_list_status(self, req: Request) -> Response:
        """POST /contactLists - Update list status for a contact. https://developers.activecampaign.com/reference/update-list-status-for-contact
        {"contactList": {"list", "contact", "status"}}: status 1 subscribes, 2 unsubscribes.
        Answers {"contacts": [contact], "contactList": {...}}. Docs silent on an unknown contact
        or list: the sandbox answers 404 in the {"errors": [...]} shape POST endpoints use."""
        try:
            body = req.json()
        except ValueError:
            return errors(400, "Invalid JSON", code="invalid")
        item = body.get("contactList") if isinstance(body, dict) else None
        if not isinstance(item, dict):
            return errors(422, "Missing attribute", pointer="/data/attributes/contactList")
        for key in ("list", "contact", "status"):
            if not str(item.get(key, "")).isdigit():
                return errors(422, "Missing attribute", pointer=f"/data/attributes/{key}")
        cid, list_id, status = int(item["contact"]), int(item["list"]), int(item["status"])
        if status not in (1, 2):
            return errors(422, "Invalid status", pointer="/data/attributes/status")
        zone = self.zone
        now = self.store.now_ms()
        with self.store.write() as conn:
            row = self._row(conn, str(cid))
            if row is None:
                response = errors(404, "Not Found", detail="Contact not found")
                response.body["errors"][0]["status"] = 404
                return response
            if conn.execute("SELECT 1 FROM ac_lists WHERE id = ?", (list_id,)).fetchone() is None:
                response = errors(404, "Not Found", detail="List not found")
                response.body["errors"][0]["status"] = 404
                return response
            existing = conn.execute(
                "SELECT id FROM ac_contact_lists WHERE contact = ? AND list = ?", (cid, list_id)
            ).fetchone()
            if existing:
                conn.execute(
                    "UPDATE ac_contact_lists SET status = ?, udate = ? WHERE id = ?",
                    (status, now, existing[0]),
                )
            else:
                conn.execute(
                    "INSERT INTO ac_contact_lists (contact, list, status, sdate, udate) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (cid, list_id, status, now, now),
                )
            self._touch(conn, cid)
            row = self._row(conn, str(cid))
            memberships = [
                m
                for m in records.contact_lists(conn, cid, req.base_url, zone)
                if m["list"] == str(list_id)
            ]
        contact_list = memberships[0]
        contact_list["status"] = status
        return Response(
            200,
            {"contacts": [records.contact(row, req.base_url, zone)], "contactList": contact_list},
        )


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
