"""TawkHook against the emulator: paging by creation time across page edges (also when chats
share an instant, and when chats are deleted in the dashboard while we read), refused keys."""

from __future__ import annotations

import pytest

from ks_privacy.hooks import tawk
from ks_privacy.hooks.tawk import TawkHook
from ks_privacy.hooks.vendor_http import VendorAuthError
from ks_privacy.sources.base import ScanWindow


def newest_first(vendors) -> list[str]:
    rows = vendors.sql("SELECT id FROM tawk_chats ORDER BY created_on DESC, id DESC")
    return [r[0] for r in rows]


@pytest.mark.parametrize("page_size", [10, 41, 82, 100])
def test_paging_across_page_edges(vendors, monkeypatch, page_size):
    monkeypatch.setattr(tawk, "PAGE_SIZE", page_size)
    chats = newest_first(vendors)
    assert len(chats) == 82  # 41 x 2: page size 41 ends exactly on the last chat
    assert [c["id"] for c in TawkHook().iter_chats()] == chats
    pages = [r for r in vendors.requests_made("tawk") if r["route"] == "/v1/chat.list"]
    assert len(pages) == expected_pages(82, page_size)


def expected_pages(chats: int, size: int) -> int:
    """Pages after the first start with the previous page's last chat (endDate is inclusive);
    a full page always asks for one more."""
    pages, returned, seen = 1, min(chats, size), min(chats, size)
    while returned == size:
        returned = min(chats - seen + 1, size)
        seen += returned - 1
        pages += 1
    return pages


def test_chats_sharing_an_instant_across_page_edges(vendors, monkeypatch):
    """25 chats created in the same millisecond, read 10 at a time."""
    monkeypatch.setattr(tawk, "PAGE_SIZE", 10)
    ids = newest_first(vendors)
    same = ids[20:45]
    instant = vendors.sql("SELECT created_on FROM tawk_chats WHERE id = ?", same[0])[0][0]
    marks = ",".join("?" * len(same))
    vendors.sql(f"UPDATE tawk_chats SET created_on = ? WHERE id IN ({marks})", instant, *same)
    seen = [c["id"] for c in TawkHook().iter_chats()]
    assert seen == newest_first(vendors)
    assert len(seen) == len(set(seen)) == 82


def test_dashboard_deletes_while_reading_skip_nobody(vendors, monkeypatch):
    """A person deletes chats in the dashboard while a scan or a search reads the list: paging
    by offset alone would skip as many chats as were deleted."""
    monkeypatch.setattr(tawk, "PAGE_SIZE", 10)
    chats = newest_first(vendors)
    seen = []
    for chat in TawkHook().iter_chats():
        seen.append(chat["id"])
        assert vendors.dashboard_delete([chat["id"]]) == 1
    assert seen == chats
    assert vendors.sql("SELECT COUNT(*) FROM tawk_chats") == [(0,)]


def test_new_chats_while_reading_are_not_returned_twice(vendors, monkeypatch):
    monkeypatch.setattr(tawk, "PAGE_SIZE", 10)
    chats = newest_first(vendors)
    seen = []
    for i, chat in enumerate(TawkHook().iter_chats()):
        seen.append(chat["id"])
        if i % 10 == 5:  # a visitor starts a chat: it is the newest, so it lands on page one
            vendors.sql(
                "INSERT INTO tawk_chats SELECT ? || substr(id, 4), property_id, "
                "created_on + 86400000 * 1000, ended_on, last_message_on, visitor_id, "
                "visitor_name, visitor_email, visitor_phone, visitor_ip, city, country, "
                "person_id, messages FROM tawk_chats WHERE id = ?",
                f"n{i:02d}",
                chat["id"],
            )
    assert seen == chats


def test_wrong_key_fails_at_once(vendors, build, set_conn):
    set_conn("tawk_default", password="not-the-key-0123456789")
    with pytest.raises(VendorAuthError) as raised:
        list(build("tawk").scan(ScanWindow()))
    assert raised.value.status == 401
    assert [r["status"] for r in vendors.requests_made("tawk")] == [401]
    message = str(raised.value)
    assert "not-the-key" not in message and vendors.sandbox.tawk_api_key not in message
