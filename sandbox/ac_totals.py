"""Fast, exact `meta.total` for ActiveCampaign contact lists at a million contacts."""

from __future__ import annotations

import sqlite3
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from typing import Any


class Totals:
    """`meta.total` without a COUNT(*) over a million rows on every page.

    For each recent filter (all conditions except the id range), the sorted ids that match are
    kept in memory; a page's total is then two bisections. Every write to a contact re-checks
    that contact against each kept filter, so the totals stay exact.
    """

    def __init__(self, max_entries: int = 8) -> None:
        self._lock = threading.Lock()
        self._sets: OrderedDict[tuple, array] = OrderedDict()
        self._generation = 0
        self._max = max_entries

    def count(
        self,
        conn: sqlite3.Connection,
        where: list[str],
        params: list[Any],
        low: int | None,
        high: int | None,
        exclude: int | None,
    ) -> int:
        key = (" AND ".join(where), tuple(params))
        with self._lock:
            ids = self._sets.get(key)
            if ids is not None:
                self._sets.move_to_end(key)
            generation = self._generation
        if ids is None:
            clause = f"WHERE {key[0]}" if where else ""
            ids = array(
                "q",
                (
                    row[0]
                    for row in conn.execute(
                        f"SELECT c.id FROM ac_contacts c {clause} ORDER BY c.id", params
                    )
                ),
            )
            with self._lock:
                if generation == self._generation:  # no write happened while reading
                    self._sets[key] = ids
                    while len(self._sets) > self._max:
                        self._sets.popitem(last=False)
        with self._lock:
            start = bisect_right(ids, low) if low is not None else 0
            end = bisect_left(ids, high) if high is not None else len(ids)
            total = max(0, end - start)
            if (
                exclude is not None
                and (low is None or exclude > low)
                and (high is None or exclude < high)
            ):
                i = bisect_left(ids, exclude)
                if i < len(ids) and ids[i] == exclude:
                    total -= 1
            return total

    def changed(self, conn: sqlite3.Connection, contact_id: int) -> None:
        """Call inside the write transaction, after changing or deleting the contact."""
        with self._lock:
            self._generation += 1
            for (where, params), ids in self._sets.items():
                extra = f" AND {where}" if where else ""
                matches = conn.execute(
                    f"SELECT 1 FROM ac_contacts c WHERE c.id = ?{extra}", [contact_id, *params]
                ).fetchone()
                i = bisect_left(ids, contact_id)
                present = i < len(ids) and ids[i] == contact_id
                if matches and not present:
                    ids.insert(i, contact_id)
                elif not matches and present:
                    del ids[i]
