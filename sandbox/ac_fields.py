"""ActiveCampaign custom fields and their values (contacts' `fieldValues`), as the v3 API shows
them. Registered on the ActiveCampaign service (same port, auth, rate limit and faults).

Pages cited per handler; shapes are the docs' examples:
- GET /fields: https://developers.activecampaign.com/reference/retrieve-fields-1 (limit default
  100, `filters[perstag]`; answers fieldOptions, fieldRels, fields, meta.total);
- GET /fieldValues: https://developers.activecampaign.com/reference/list-all-custom-field-values
  (`filters[fieldid]`, `filters[val]`, limit/offset like every collection);
- GET/PUT/DELETE /fieldValues/{id}, POST /fieldValues:
  https://developers.activecampaign.com/reference/retrieve-a-custom-field-value,
  /update-a-custom-field-value-for-contact, /delete-a-custom-field-value, /create-fieldvalue.
A contact's own values: GET /contacts/{id}/fieldValues (in activecampaign.py).

Docs silent, sandbox choices: a value write (PUT, POST, DELETE) is a write to its contact, so the
contact's `udate` becomes now (as for tags and list status); POST for a contact and field that
already have a value updates that value (the docs say it "effectively updates the contact's
value"); an unknown field or contact is 404 in the {"errors": [...]} shape POST endpoints use.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sandbox import ac_records as records
from sandbox.ac_records import CONTACT_COLUMNS, errors, message
from sandbox.clock import ac_local
from sandbox.http import HttpError, Request, Response

FIELD_COLUMNS = "id, title, type, perstag, descript, ordernum, cdate, udate"


def _int_arg(req: Request, name: str, default: int) -> int:
    value = req.arg(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise HttpError(errors(400, f"Invalid value for {name}", code="invalid")) from exc


def _page(req: Request, default_limit: int) -> tuple[int, int]:
    limit = _int_arg(req, "limit", default_limit)
    limit = default_limit if limit <= 0 else min(limit, 100)
    return limit, max(_int_arg(req, "offset", 0), 0)


class CustomFields:
    """The handlers; `service` is the ActiveCampaign emulator they belong to."""

    def __init__(self, service) -> None:
        self.service = service
        self.store = service.store
        api = "/api/3"
        service.add("GET", f"{api}/fields", self.list_fields)
        service.add("GET", f"{api}/fieldValues", self.list_values)
        service.add("POST", f"{api}/fieldValues", self.create_value)
        service.add("GET", f"{api}/fieldValues/{{id}}", self.get_value)
        service.add("PUT", f"{api}/fieldValues/{{id}}", self.update_value)
        service.add("DELETE", f"{api}/fieldValues/{{id}}", self.delete_value)

    # -- fields -----------------------------------------------------------------------------------

    def _field(self, row: tuple, base: str) -> dict[str, Any]:
        fid, title, type_, perstag, descript, ordernum, cdate, udate = row
        zone = self.service.zone
        links = {name: f"{base}/api/3/fields/{fid}/{name}" for name in ("options", "relations")}
        return {
            "title": title,
            "descript": descript,
            "type": type_,
            "isrequired": "0",
            "perstag": perstag,
            "defval": None,
            "show_in_list": "0",
            "rows": "0",
            "cols": "0",
            "visible": "1",
            "service": "",
            "ordernum": str(ordernum),
            "cdate": ac_local(cdate, zone),
            "udate": ac_local(udate, zone),
            "options": [],
            "relations": [str(fid)],
            "links": links,
            "id": str(fid),
        }

    def list_fields(self, req: Request) -> Response:
        """GET /fields - List all custom fields (limit default 100; `filters[perstag]`)."""
        limit, offset = _page(req, 100)
        where, params = "", []
        if req.arg("filters[perstag]"):
            where, params = "WHERE perstag = ?", [req.arg("filters[perstag]")]
        with self.store.connection() as conn:
            rows = conn.execute(
                f"SELECT {FIELD_COLUMNS} FROM ac_fields {where} ORDER BY id LIMIT ? OFFSET ?",
                [*params, limit, offset],
            ).fetchall()
            total = conn.execute(f"SELECT COUNT(*) FROM ac_fields {where}", params).fetchone()[0]
        fields = [self._field(r, req.base_url) for r in rows]
        rels = [
            {
                "field": f["id"],
                "relid": "0",
                "dorder": f["ordernum"],
                "cdate": f["cdate"],
                "links": [],
                "id": f["id"],
            }
            for f in fields
        ]
        return Response(
            200,
            {
                "fieldOptions": [],
                "fieldRels": rels,
                "fields": fields,
                "meta": {"total": str(total)},
            },
        )

    # -- values -----------------------------------------------------------------------------------

    def _values(self, conn: sqlite3.Connection, where: str, params: list, base: str) -> list:
        rows = conn.execute(
            f"SELECT id, contact, field, value, cdate, udate FROM ac_field_values {where}", params
        ).fetchall()
        return [records.field_value(row, base, self.service.zone) for row in rows]

    def list_values(self, req: Request) -> Response:
        """GET /fieldValues - List all custom field values (`filters[fieldid]`, `filters[val]`),
        in id order, `limit` (default 20, at most 100) and `offset`."""
        limit, offset = _page(req, 20)
        where, params = [], []
        field_id = req.arg("filters[fieldid]")
        if field_id not in (None, ""):
            if not str(field_id).isdigit():
                raise HttpError(errors(400, "Invalid value for filters[fieldid]", code="invalid"))
            where.append("field = ?")
            params.append(int(field_id))
        if req.arg("filters[val]") is not None:
            where.append("value = ?")
            params.append(req.arg("filters[val]"))
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        with self.store.connection() as conn:
            values = self._values(
                conn,
                f"{clause} ORDER BY id LIMIT ? OFFSET ?",
                [*params, limit, offset],
                req.base_url,
            )
            total = conn.execute(
                f"SELECT COUNT(*) FROM ac_field_values {clause}", params
            ).fetchone()[0]
        return Response(200, {"fieldValues": values, "meta": {"total": str(total)}})

    def _value_id(self, req: Request) -> int:
        raw = req.params["id"]
        return int(raw) if raw.isdigit() else -1

    @staticmethod
    def _not_found(value_id: str) -> Response:
        return message(404, f"No Result found for FieldValue with id {value_id}")

    def get_value(self, req: Request) -> Response:
        """GET /fieldValues/{id} - Retrieve a custom field value."""
        with self.store.connection() as conn:
            found = self._values(conn, "WHERE id = ?", [self._value_id(req)], req.base_url)
        if not found:
            return self._not_found(req.params["id"])
        return Response(200, {"fieldValue": found[0]})

    def _body(self, req: Request) -> dict[str, Any]:
        try:
            body = req.json()
        except ValueError as exc:
            raise HttpError(errors(400, "Invalid JSON", code="invalid")) from exc
        item = body.get("fieldValue") if isinstance(body, dict) else None
        if not isinstance(item, dict):
            raise HttpError(errors(422, "Missing attribute", pointer="/data/attributes/fieldValue"))
        for key in ("contact", "field"):
            if not str(item.get(key, "")).isdigit():
                raise HttpError(errors(422, "Missing attribute", pointer=f"/data/attributes/{key}"))
        return item

    @staticmethod
    def _contact_row(conn: sqlite3.Connection, contact: int) -> tuple | None:
        return conn.execute(
            f"SELECT {CONTACT_COLUMNS} FROM ac_contacts WHERE id = ?", (contact,)
        ).fetchone()

    def _touch(self, conn: sqlite3.Connection, contact: int) -> None:
        """A write to a contact's values is a write to the contact: its udate becomes now."""
        conn.execute(
            "UPDATE ac_contacts SET udate = ? WHERE id = ?", (self.store.now_ms(), contact)
        )
        self.service.totals.changed(conn, contact)

    def _answer(self, conn: sqlite3.Connection, value_id: int, base: str) -> Response:
        value = self._values(conn, "WHERE id = ?", [value_id], base)[0]
        row = self._contact_row(conn, int(value["contact"]))
        contact = records.contact(row, base, self.service.zone)
        return Response(200, {"contacts": [contact], "fieldValue": value})

    def _check_refs(self, conn: sqlite3.Connection, contact: int, field: int) -> None:
        if self._contact_row(conn, contact) is None:
            response = errors(404, "Not Found", detail="Contact not found")
            response.body["errors"][0]["status"] = 404
            raise HttpError(response)
        if conn.execute("SELECT 1 FROM ac_fields WHERE id = ?", (field,)).fetchone() is None:
            response = errors(404, "Not Found", detail="Field not found")
            response.body["errors"][0]["status"] = 404
            raise HttpError(response)

    def create_value(self, req: Request) -> Response:
        """POST /fieldValues - Create a custom field value (or update the contact's value)."""
        item = self._body(req)
        contact, field = int(item["contact"]), int(item["field"])
        value = "" if item.get("value") is None else str(item["value"])
        now = self.store.now_ms()
        with self.store.write() as conn:
            self._check_refs(conn, contact, field)
            existing = conn.execute(
                "SELECT id FROM ac_field_values WHERE contact = ? AND field = ?", (contact, field)
            ).fetchone()
            if existing:
                value_id = existing[0]
                conn.execute(
                    "UPDATE ac_field_values SET value = ?, udate = ? WHERE id = ?",
                    (value, now, value_id),
                )
            else:
                value_id = conn.execute(
                    "INSERT INTO ac_field_values (contact, field, value, cdate, udate) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (contact, field, value, now, now),
                ).lastrowid
            self._touch(conn, contact)
            return self._answer(conn, value_id, req.base_url)

    def update_value(self, req: Request) -> Response:
        """PUT /fieldValues/{id} - Update a custom field value for contact. Body {"fieldValue":
        {"contact", "field", "value"}, "useDefaults"?}; the value must be the contact's value of
        that field (the id names it)."""
        item = self._body(req)
        value_id = self._value_id(req)
        now = self.store.now_ms()
        with self.store.write() as conn:
            row = conn.execute(
                "SELECT contact, field FROM ac_field_values WHERE id = ?", (value_id,)
            ).fetchone()
            if row is None:
                return self._not_found(req.params["id"])
            if (int(item["contact"]), int(item["field"])) != tuple(row):
                return errors(
                    422, "Invalid attribute", detail="contact and field do not match this value"
                )
            value = "" if item.get("value") is None else str(item["value"])
            conn.execute(
                "UPDATE ac_field_values SET value = ?, udate = ? WHERE id = ?",
                (value, now, value_id),
            )
            self._touch(conn, row[0])
            return self._answer(conn, value_id, req.base_url)

    def delete_value(self, req: Request) -> Response:
        """DELETE /fieldValues/{id} - Delete a custom field value. 200 {}; gone: 404."""
        value_id = self._value_id(req)
        with self.store.write() as conn:
            row = conn.execute(
                "SELECT contact FROM ac_field_values WHERE id = ?", (value_id,)
            ).fetchone()
            if row is None:
                return self._not_found(req.params["id"])
            conn.execute("DELETE FROM ac_field_values WHERE id = ?", (value_id,))
            self._touch(conn, row[0])
        return Response(200, {})
