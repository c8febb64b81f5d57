"""API calls: the fewest a sweep can make for a day's work, what ours makes, and which is which.

**Minimum** means: what a client that knew exactly which records are due (but still had to find
them through the API, act on them and read them back) would need, with every batch the API
offers filled completely, and reading a list of n records in ceil(n / page) calls (at least
one, to learn that there are none).

ActiveCampaign (100 a page, no bulk delete, 5 requests/s):
- 1 tag lookup (the legal-hold tag's id from its name) and 1 `meta.total` (the guard's account
  size; an incremental list is filtered, so its total is not the account's);
- incremental: ceil(C / 100) pages of `filters[updated_before]`, C = contacts whose vendor clock
  is at or before the cutoff (as if the filter were exact), and ceil(Hc / 100) pages of the same
  filter with `tagid` (the held ones among them); full: ceil(N / 100) pages and ceil(H / 100)
  held pages (the first page's `meta.total` is the account size);
- the E ledger records the filter cannot find: ceil(E / 100) `ids[]` reads, and as many with
  `tagid` for their holds;
- one DELETE per erased contact and one PUT per redacted one (no bulk endpoint);
- ceil(acted / 100) `ids[]` reads to verify;
- custom fields (the policy's `fields` map): 1 `/fields` read (their ids from their titles) and
  ceil(V / 100) `/fieldValues` reads per mapped field holding V values, in every scan (the API
  filters values by field only, not by date); a redaction's PUT answers with the contact's
  values, so only values to empty cost a write; the read-back of redacted contacts reads their
  values (none in these accounts).

Google People (1000 a page, batchDeleteContacts 500, batchGet 200):
- 1 contact-group list (the legal-hold group's resource name); the account size is `totalItems`
  on every list page (no call);
- incremental: the list sorted LAST_MODIFIED_ASCENDING up to the first contact after the cutoff
  (there is no filter: a client must see one past the cutoff to stop), ceil((C + 1) / 1000)
  pages; full: ceil(N / 1000);
- the ledger's records: ceil(E / 200) batchGets;
- ceil(erased / 500) batchDeleteContacts;
- one updateContact per redaction, with the etag the scan read;
- ceil(acted / 200) batchGets to verify.

**Ours** (`expected_calls`) is the minimum plus what the implementation knowingly spends:
- lists end on a short page (`meta.total` is not trusted to end a scan that deletes on its
  word): n // 100 + 1 pages instead of ceil(n / 100), one more when n is a multiple of 100;
- ActiveCampaign's `filters[updated_before]` takes a date, read as midnight in the account's
  zone: the filter returns the C' >= C contacts updated before the first such midnight after the
  cutoff (up to a day more than C), and Hc' held among them;
- Google: the plan keeps refs, not etags, so the redactions' etags are read again, one batchGet
  per 200 redactions (instead of one GET each).
- ActiveCampaign custom fields: the read-back of redactions looks the custom fields' ids up
  again (its own task) and counts each mapped field's values (1 call each) to choose the fewer
  calls: those values over all contacts, or each contact's own.
"""

from __future__ import annotations

from math import ceil

from bench.data import Truth


def pages(n: int, size: int) -> int:
    """Calls to read n records from a list, at the least (one, to learn there are none)."""
    return max(1, ceil(n / size))


def pages_to_short_page(n: int, size: int) -> int:
    """Calls to read n records when the list's end is a page shorter than `size`."""
    return n // size + 1


def minimum_calls(truth: Truth, full: bool) -> dict[str, int]:
    """The minimum per kind of call (the kinds of `kind_of`)."""
    acted = truth.acted
    if truth.source == "activecampaign":
        calls = {"tag lookup": 1}
        if full:
            calls["list"] = pages(truth.total, 100)
            calls["held list"] = pages(truth.held_total, 100)
        else:
            calls["total"] = 1
            calls["list"] = pages(truth.candidates, 100)
            calls["held list"] = pages(truth.held_candidates_exact, 100)
        ledger = 0 if full else 2 * ceil(truth.ledger / 100)
        calls["ids read"] = ledger + ceil(acted / 100)
        calls["delete"] = truth.erase
        calls["update"] = truth.redact
        if truth.custom_values:
            calls["fields"] = 1
            calls["field values"] = sum(pages(n, 100) for n in truth.custom_values)
        return calls
    calls = {"groups": 1}
    if full:
        calls["list"] = pages(truth.total, 1000)
    else:
        calls["list"] = pages(min(truth.candidates + 1, truth.total), 1000)
    ledger = 0 if full else ceil(truth.ledger / 200)
    calls["batch get"] = ledger + ceil(acted / 200)
    calls["batch delete"] = ceil(truth.erase / 500)
    calls["update"] = truth.redact
    return calls


def expected_calls(truth: Truth, full: bool) -> dict[str, int]:
    """What our sweep makes for the same work (the minimum plus the surplus named above)."""
    calls = minimum_calls(truth, full)
    if truth.source == "activecampaign":
        if full:
            calls["list"] = pages_to_short_page(truth.total, 100)
            calls["held list"] = pages_to_short_page(truth.held_total, 100)
        else:
            calls["list"] = pages_to_short_page(truth.candidates_filtered, 100)
            calls["held list"] = pages_to_short_page(truth.held_candidates, 100)
        if truth.custom_values:
            read_back = len(truth.custom_values) if truth.redact else 0  # the counts
            scan = sum(pages_to_short_page(n, 100) for n in truth.custom_values)
            calls["field values"] = scan + read_back
            calls["fields"] = 1 + (1 if truth.redact else 0)
        return calls
    if not full:
        calls["list"] = truth.candidates // 1000 + 1
    calls["batch get"] += ceil(truth.redact / 200)
    return calls


def kind_of(source: str, entry: dict) -> str | None:
    """The kind of an API call in the sandbox's request log (None: not an API call)."""
    method, route, keys = entry["method"], entry["route"], set(entry.get("query_keys") or ())
    if source == "activecampaign":
        if route == "/api/3/tags":
            return "tag lookup"
        if route == "/api/3/fields":
            return "fields"
        if route == "/api/3/fieldValues":
            return "field values"
        if route == "/api/3/contacts/{id}/fieldValues":
            return "contact field values"
        if route == "/api/3/contacts":
            if "ids[]" in keys or "ids" in keys:
                return "ids read"
            if "tagid" in keys:
                return "held list"
            return "list" if "id_greater" in keys else "total"
        return {"DELETE": "delete", "PUT": "update"}.get(method, f"{method} {route}")
    if route == "/token":
        return None  # the OAuth token endpoint, not the People API
    return {
        "/v1/contactGroups": "groups",
        "/v1/people/me/connections": "list",
        "/v1/people:batchGet": "batch get",
        "/v1/people:batchDeleteContacts": "batch delete",
        "/v1/people/{person}:updateContact": "update",
        "/v1/people/{person}": "get",
        "/v1/people/{person}:deleteContact": "delete",
    }.get(route, f"{method} {route}")


def naive_calls(truth: Truth, processed: int | None = None) -> int:
    """What the naive script makes for the whole account (or its first `processed` contacts):
    the full list, one GET per contact, one delete per erased contact, one update per redacted
    one (Google: plus the hold group; ActiveCampaign: plus the tag and its held list)."""
    n = truth.total if processed is None else processed
    acted = truth.acted * n / truth.total
    if truth.source == "activecampaign":
        return round(1 + pages(truth.held_total, 100) + pages(n, 100) + n + acted)
    return round(1 + pages(n, 1000) + n + acted)
