"""Tawk REST API contract tests (https://help.tawk.to/article/rest-api: RPC-style POST methods,
HTTP Basic auth with the API key as user name, {"ok": ...} answers with machine-readable error
codes)."""

from __future__ import annotations

import json
from datetime import datetime

import requests

from tests.sandbox.helpers import control, truth


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def _call(tawk, method, **body):
    return tawk.post(f"{tawk.base}/{method}", json=body, timeout=10)


def test_wrong_or_missing_key_is_401_auth_error(sb):
    url = sb.tawk_url + "/chat.list"
    body = {"propertyId": sb.tawk_property_id}
    for auth in (None, ("wrong-key", "")):
        r = requests.post(url, json=body, auth=auth, timeout=10)
        assert r.status_code == 401
        assert r.json()["ok"] is False and r.json()["error"] == "auth_error"
    assert (
        requests.post(url, json=body, auth=(sb.tawk_api_key, ""), timeout=10).json()["ok"] is True
    )


def test_property_list(sb, tawk):
    r = _call(tawk, "property.list")
    assert r.json() == {
        "ok": True,
        "data": [{"propertyId": sb.tawk_property_id, "name": "KlantenScoren"}],
    }


def test_chat_list_pages_with_size_and_offset_newest_first(sb, tawk, db_path):
    total = truth(db_path, "SELECT COUNT(*) FROM tawk_chats")[0][0]
    seen, offset, created = [], 0, []
    while True:
        page = _call(
            tawk, "chat.list", propertyId=sb.tawk_property_id, size=13, offset=offset
        ).json()
        assert page["ok"] is True and page["total"] == total
        if not page["data"]:
            break
        seen += [c["id"] for c in page["data"]]
        created += [c["createdOn"] for c in page["data"]]
        offset += len(page["data"])
    assert len(seen) == len(set(seen)) == total
    assert created == sorted(created, reverse=True)
    chat = page_one = _call(tawk, "chat.list", propertyId=sb.tawk_property_id, size=1).json()[
        "data"
    ][0]
    assert set(page_one["visitor"]) >= {"name", "email", "phone", "ip"}
    assert chat["createdOn"].endswith("Z") and "messages" not in chat
    assert _call(tawk, "chat.list", propertyId=sb.tawk_property_id, size=101).status_code == 400
    missing = _call(tawk, "chat.list")
    assert missing.status_code == 400 and missing.json()["error"] == "validation_error"


def test_chat_list_date_range(sb, tawk, db_path):
    start, end = "2026-05-01T00:00:00Z", "2026-07-01T00:00:00Z"
    expected = truth(
        db_path,
        "SELECT COUNT(*) FROM tawk_chats WHERE created_on >= ? AND created_on <= ?",
        (_ms(start), _ms(end)),
    )[0][0]
    page = _call(
        tawk, "chat.list", propertyId=sb.tawk_property_id, startDate=start, endDate=end, size=100
    ).json()
    assert page["total"] == expected and expected > 0
    assert all(start <= c["createdOn"] <= end for c in page["data"])


def test_chat_get_has_messages_and_the_visitor(sb, tawk, db_path):
    chat_id, email = truth(
        db_path, "SELECT id, visitor_email FROM tawk_chats WHERE visitor_email IS NOT NULL LIMIT 1"
    )[0]
    chat = _call(tawk, "chat.get", propertyId=sb.tawk_property_id, chatId=chat_id).json()
    assert chat["ok"] is True and chat["data"]["id"] == chat_id
    assert chat["data"]["visitor"]["email"] == email
    assert chat["data"]["messages"] and all(
        m["time"].endswith("Z") for m in chat["data"]["messages"]
    )
    unknown = _call(tawk, "chat.get", propertyId=sb.tawk_property_id, chatId="0" * 24)
    assert unknown.status_code == 404 and unknown.json() == {
        "ok": False,
        "error": "not_found",
        "message": "Chat not found",
    }


def test_dashboard_delete_makes_chat_get_answer_not_found(sb, tawk, db_path):
    chat_id, person_id = truth(
        db_path, "SELECT id, person_id FROM tawk_chats WHERE person_id IS NOT NULL LIMIT 1"
    )[0]
    before = _call(tawk, "chat.list", propertyId=sb.tawk_property_id).json()["total"]
    deleted = control(sb, "tawk", "tawk/dashboard_delete", json={"chat_ids": [chat_id]})
    assert deleted.json()["deleted"] == 1
    gone = _call(tawk, "chat.get", propertyId=sb.tawk_property_id, chatId=chat_id)
    assert gone.status_code == 404 and gone.json()["error"] == "not_found"
    assert _call(tawk, "chat.list", propertyId=sb.tawk_property_id).json()["total"] == before - 1
    # The contact person stays until a person deletes it too.
    person = _call(tawk, "contact.person.get", propertyId=sb.tawk_property_id, personId=person_id)
    assert person.status_code == 200 and person.json()["data"]["id"] == person_id
    control(sb, "tawk", "tawk/dashboard_delete", json={"person_ids": [person_id]})
    assert (
        _call(
            tawk, "contact.person.get", propertyId=sb.tawk_property_id, personId=person_id
        ).status_code
        == 404
    )


def test_the_api_has_no_delete_method(sb, tawk, db_path):
    """Tawk publishes no delete: the sandbox must not invent one in the API surface."""
    (chat_id,) = truth(db_path, "SELECT id FROM tawk_chats LIMIT 1")[0]
    for method in ("chat.delete", "chat.remove", "contact.person.delete"):
        r = _call(tawk, method, propertyId=sb.tawk_property_id, chatId=chat_id)
        assert r.status_code == 404 and r.json()["ok"] is False
    assert truth(db_path, "SELECT COUNT(*) FROM tawk_chats WHERE id = ?", (chat_id,))[0][0] == 1
    vendor_routes = [route.template for route in sb.tawk.routes]
    assert not [t for t in vendor_routes if "delete" in t.lower()]


def test_visitor_typed_emails_are_kept_as_typed(db_path):
    typed = [
        json.dumps(r[0])
        for r in truth(
            db_path, "SELECT visitor_email FROM tawk_chats WHERE visitor_email IS NOT NULL"
        )
    ]
    assert any(t != t.strip() or t.lower() != t for t in (json.loads(x) for x in typed))
