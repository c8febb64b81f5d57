"""ActiveCampaignHook against the emulator: keyset paging across page edges, deleting while
iterating, 429 + Retry-After, refused credentials."""

from __future__ import annotations

import math
import time

import pytest

from ks_privacy.hooks.activecampaign import PAGE_SIZE, ActiveCampaignHook
from ks_privacy.hooks.vendor_http import VendorAuthError
from ks_privacy.sources.base import Outcome, ScanWindow

# (contacts, seed) that give ActiveCampaign exactly this many contacts
EXACTLY = {200: (231, 1), 250: (288, 1)}


def list_requests(vendors) -> list[dict]:
    return [r for r in vendors.requests_made("activecampaign") if r["route"] == "/api/3/contacts"]


@pytest.mark.parametrize("count", sorted(EXACTLY))
def test_keyset_paging_across_page_edges(make_vendors, count):
    contacts, seed_value = EXACTLY[count]
    vendors = make_vendors(contacts=contacts, seed_value=seed_value)
    ids = sorted(r[0] for r in vendors.sql("SELECT id FROM ac_contacts"))
    assert len(ids) == count
    seen = [int(c["id"]) for c in ActiveCampaignHook().iter_contacts()]
    assert seen == ids  # each once, in id order
    pages = list_requests(vendors)
    # a full last page costs one more (empty) page: 200 -> 3 requests, 250 -> 3
    assert len(pages) == count // PAGE_SIZE + 1 == math.ceil((count + 1) / PAGE_SIZE)
    for page in pages:
        assert {"id_greater", "limit", "orders[id]"} <= set(page["query_keys"])
        assert "offset" not in page["query_keys"]


def test_deleting_while_iterating_skips_nobody(make_vendors):
    vendors = make_vendors(*EXACTLY[250])
    ids = sorted(r[0] for r in vendors.sql("SELECT id FROM ac_contacts"))
    hook = ActiveCampaignHook()
    seen = []
    for contact in hook.iter_contacts():
        seen.append(int(contact["id"]))
        assert hook.delete_contact(contact["id"]) is True
    assert seen == ids
    assert vendors.sql("SELECT COUNT(*) FROM ac_contacts") == [(0,)]


def test_a_429_waits_for_retry_after_and_then_succeeds(vendors, build):
    """The emulator allows 4 requests/s (the real account 5); the client paces at 200/s, so it
    meets 429s and must wait what Retry-After says instead of failing or hammering."""
    vendors.control("activecampaign", "rate_limit", {"per_second": 4})
    source = build("activecampaign")
    refs = [str(i) for i in range(1, 11)]
    started = time.monotonic()
    results = source.erase(refs)
    elapsed = time.monotonic() - started
    assert [(r.ref, r.outcome) for r in results] == [(ref, Outcome.ERASED) for ref in refs]
    log = vendors.requests_made("activecampaign")
    limited = [i for i, r in enumerate(log) if r["status"] == 429]
    assert limited, "the rate limit was never met: the test proves nothing"
    for i in limited:
        if i + 1 < len(log):
            # Retry-After is whole seconds (at least 1): nothing is sent before it has passed
            assert log[i + 1]["time"] - log[i]["time"] >= 0.95
    assert 2.0 <= elapsed < 30  # 10 requests at 4/s, each 429 costing a second
    assert {r["status"] for r in log} <= {200, 429}


def test_wrong_token_fails_at_once_without_the_token_in_the_message(vendors, build, set_conn):
    set_conn("activecampaign_default", password="not-the-token-0123456789")
    source = build("activecampaign")
    with pytest.raises(VendorAuthError) as raised:
        list(source.scan(ScanWindow()))
    assert raised.value.status == 403
    log = vendors.requests_made("activecampaign")
    assert [r["status"] for r in log] == [403]
    message = str(raised.value)
    assert "not-the-token" not in message and vendors.sandbox.ac_token not in message
    assert "credentials refused" in message
