"""Tawk.to REST API emulator: chats and contact persons of one property, read-only.

Public documentation (https://help.tawk.to/article/rest-api and https://developer.tawk.to/):
- "The API consists of HTTP RPC-style methods" - every call is POST https://api.tawk.to/v1/<method>
  with the arguments in a JSON body;
- "The response will contain a JSON object, which will always contain a top-level boolean
  property ok ... For failure results, the error property will contain a short machine-readable
  error code";
- authentication is HTTP Basic with the API key as the user name (empty password).
The full method reference is only sent to approved REST API users, so method bodies and the
chat's fields follow what is public about them: `chat.list` pages with `size`/`offset` (plus
`startDate`/`endDate`) and answers {ok, total, data}; a chat has `id`, `createdOn` and its
messages; visitors carry name, e-mail, phone, IP and location, as in the chat webhooks'
payloads (https://developer.tawk.to/webhooks/). Error codes: auth_error (401),
validation_error (400), not_found (404), rate_limited (429).

Tawk publishes NO method to delete a chat: only a person in the dashboard can. The sandbox
therefore offers deletion only as a control endpoint, POST /_sandbox/tawk/dashboard_delete,
standing in for that person; the emulated API surface has no delete method.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from sandbox.clock import iso_utc_millis, parse_iso_ms
from sandbox.credentials import Credentials
from sandbox.http import HttpError, Request, Response, Service, _body
from sandbox.store import Store

CHAT_COLUMNS = (
    "id, property_id, created_on, ended_on, last_message_on, visitor_id, visitor_name, "
    "visitor_email, visitor_phone, visitor_ip, city, country, person_id, messages"
)
DEFAULT_SIZE = 20
MAX_SIZE = 100


def tawk_error(status: int, code: str, text: str) -> Response:
    return Response(status, {"ok": False, "error": code, "message": text})


def _invalid(text: str) -> HttpError:
    return HttpError(tawk_error(400, "validation_error", text))


class Tawk(Service):
    name = "tawk"
    default_rate_limit = None  # Tawk documents a 429 (rate_limited) but no number.

    def __init__(self, store: Store, credentials: Credentials) -> None:
        super().__init__(store)
        self.credentials = credentials
        self.add("POST", "/v1/property.list", self.property_list)
        self.add("POST", "/v1/chat.list", self.chat_list)
        self.add("POST", "/v1/chat.get", self.chat_get)
        self.add("POST", "/v1/contact.person.get", self.person_get)
        self.add_control("POST", "/_sandbox/tawk/dashboard_delete", self.dashboard_delete)

    # -- the vendor's ways of saying no ---------------------------------------------------------

    def authenticate(self, req: Request) -> Response | None:
        header = req.headers.get("Authorization", "")
        key = None
        if header.startswith("Basic "):
            try:
                key = base64.b64decode(header[6:].strip()).decode().split(":", 1)[0]
            except ValueError:
                key = None
        if key != self.credentials.tawk_api_key:
            response = tawk_error(401, "auth_error", "invalid_auth")
            response.headers["WWW-Authenticate"] = 'Basic realm="api.tawk.to"'
            return response
        return None

    def error(self, status: int, text: str) -> Response:
        codes = {
            404: "not_found",
            405: "not_found",
            500: "internal_error",
            503: "service_unavailable",
        }
        return tawk_error(status, codes.get(status, "error"), text)

    def rate_limited(self, retry_after: float) -> Response:
        # Documented code `rate_limited`; no Retry-After is documented, so none is sent.
        return tawk_error(429, "rate_limited", "Too many requests")

    # -- helpers --------------------------------------------------------------------------------

    def _args(self, req: Request) -> dict[str, Any]:
        try:
            data = req.json()
        except ValueError as exc:
            raise _invalid("Request body must be JSON") from exc
        if not isinstance(data, dict):
            raise _invalid("Request body must be a JSON object")
        return data

    def _property(self, args: dict[str, Any]) -> str:
        property_id = args.get("propertyId")
        if not property_id:
            raise _invalid('"propertyId" is required')
        if property_id != self.credentials.tawk_property_id:
            raise HttpError(tawk_error(404, "not_found", "Property not found"))
        return str(property_id)

    @staticmethod
    def _chat(row: tuple, *, with_messages: bool) -> dict[str, Any]:
        (
            cid,
            property_id,
            created,
            ended,
            last,
            visitor_id,
            name,
            email,
            phone,
            ip,
            city,
            country,
            person_id,
            messages,
        ) = row
        parsed = json.loads(messages)
        chat: dict[str, Any] = {
            "id": cid,
            "propertyId": property_id,
            "createdOn": iso_utc_millis(created),
            "endedOn": iso_utc_millis(ended),
            "lastMessageOn": iso_utc_millis(last),
            "messageCount": len(parsed),
            "visitor": {
                "id": visitor_id,
                "name": name,
                "email": email,
                "phone": phone,
                "ip": ip,
                "city": city,
                "country": country,
                "personId": person_id,
            },
        }
        if with_messages:
            chat["messages"] = [{**m, "time": iso_utc_millis(m["time"])} for m in parsed]
        return chat

    # -- methods --------------------------------------------------------------------------------

    def property_list(self, req: Request) -> Response:
        """POST /v1/property.list - the properties the key may read.
        https://help.tawk.to/article/rest-api"""
        return Response(
            200,
            {
                "ok": True,
                "data": [
                    {"propertyId": self.credentials.tawk_property_id, "name": "KlantenScoren"}
                ],
            },
        )

    def chat_list(self, req: Request) -> Response:
        """POST /v1/chat.list - chats of a property, newest first.
        Body: propertyId (required), size (default 20, at most 100), offset, startDate/endDate
        (ISO 8601; a chat is listed when startDate <= createdOn <= endDate). Answers
        {"ok": true, "total": N, "data": [chat...]} without the messages (chat.get has them).
        Docs (gated) silent on size limits and date edges: the sandbox's choices are above."""
        args = self._args(req)
        property_id = self._property(args)
        try:
            size = int(args.get("size", DEFAULT_SIZE))
            offset = int(args.get("offset", 0))
        except (TypeError, ValueError) as exc:
            raise _invalid('"size" and "offset" must be integers') from exc
        if not 1 <= size <= MAX_SIZE:
            raise _invalid(f'"size" must be between 1 and {MAX_SIZE}')
        if offset < 0:
            raise _invalid('"offset" must not be negative')
        where, params = ["property_id = ?"], [property_id]
        for key, op in (("startDate", ">="), ("endDate", "<=")):
            if args.get(key):
                try:
                    params.append(parse_iso_ms(str(args[key])))
                except ValueError as exc:
                    raise _invalid(f'"{key}" must be an ISO 8601 date') from exc
                where.append(f"created_on {op} ?")
        clause = " AND ".join(where)
        with self.store.connection() as conn:
            rows = conn.execute(
                f"SELECT {CHAT_COLUMNS} FROM tawk_chats WHERE {clause} "
                "ORDER BY created_on DESC, id DESC LIMIT ? OFFSET ?",
                [*params, size, offset],
            ).fetchall()
            total = conn.execute(
                f"SELECT COUNT(*) FROM tawk_chats WHERE {clause}", params
            ).fetchone()[0]
        return Response(
            200,
            {
                "ok": True,
                "total": total,
                "data": [self._chat(r, with_messages=False) for r in rows],
            },
        )

    def chat_get(self, req: Request) -> Response:
        """POST /v1/chat.get - one chat with its messages. Body: propertyId, chatId.
        A chat that does not exist (or was deleted in the dashboard) answers 404
        {"ok": false, "error": "not_found"}."""
        args = self._args(req)
        property_id = self._property(args)
        chat_id = args.get("chatId")
        if not chat_id:
            raise _invalid('"chatId" is required')
        with self.store.connection() as conn:
            row = conn.execute(
                f"SELECT {CHAT_COLUMNS} FROM tawk_chats WHERE id = ? AND property_id = ?",
                (str(chat_id), property_id),
            ).fetchone()
        if row is None:
            return tawk_error(404, "not_found", "Chat not found")
        return Response(200, {"ok": True, "data": self._chat(row, with_messages=True)})

    def person_get(self, req: Request) -> Response:
        """POST /v1/contact.person.get - a contact person of the property. Body: propertyId,
        personId. Unknown person: 404 not_found."""
        args = self._args(req)
        property_id = self._property(args)
        person_id = args.get("personId")
        if not person_id:
            raise _invalid('"personId" is required')
        with self.store.connection() as conn:
            row = conn.execute(
                "SELECT id, name, email, phone, created_on, updated_on FROM tawk_persons "
                "WHERE id = ? AND property_id = ?",
                (str(person_id), property_id),
            ).fetchone()
        if row is None:
            return tawk_error(404, "not_found", "Person not found")
        pid, name, email, phone, created, updated = row
        return Response(
            200,
            {
                "ok": True,
                "data": {
                    "id": pid,
                    "name": name,
                    "emails": [email] if email else [],
                    "phones": [phone] if phone else [],
                    "createdOn": iso_utc_millis(created),
                    "updatedOn": iso_utc_millis(updated),
                },
            },
        )

    # -- the dashboard (not part of the API) ------------------------------------------------------

    def dashboard_delete(self, req: Request) -> Response:
        """Control endpoint: a person deleting chats (and, optionally, contact persons) in the
        Tawk dashboard. Body {"chat_ids": [...], "person_ids": [...]}. Deleting a chat leaves
        its contact person alone, as the dashboard does; persons go only when named."""
        data = _body(req)
        chat_ids, person_ids = data.get("chat_ids", []), data.get("person_ids", [])
        if not isinstance(chat_ids, list) or not isinstance(person_ids, list):
            return Response(400, {"error": "chat_ids and person_ids must be lists"})
        chats, persons = dashboard_delete(
            self.store, [str(i) for i in chat_ids], [str(i) for i in person_ids]
        )
        return Response(200, {"deleted": chats, "deleted_persons": persons})


def dashboard_delete(
    store: Store, chat_ids: list[str], person_ids: list[str] = ()
) -> tuple[int, int]:
    """Delete chats and persons as a dashboard user would; returns how many of each went."""
    chats = persons = 0
    with store.write() as conn:
        for chat_id in chat_ids:
            chats += conn.execute("DELETE FROM tawk_chats WHERE id = ?", (chat_id,)).rowcount
        for person_id in person_ids:
            persons += conn.execute("DELETE FROM tawk_persons WHERE id = ?", (person_id,)).rowcount
    return chats, persons
