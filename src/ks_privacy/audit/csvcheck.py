"""Re-verify an evidence CSV (as written next to every report) without our database.

The CSV holds every column of a contiguous piece of the chain, `recorded_at` in the canonical
form the hash uses and empty cells for NULL. Recomputing each row's hash and its link to the row
before proves that nobody edited, removed or reordered rows inside it; the expected last row
(`SEQ:HASH`) and row count, as the (signed) report states them, prove it was not cut at either
end; the first row's `prev_hash` links the piece to the previous report's last row.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

from ks_privacy.audit.store import ALL_COLUMNS
from ks_privacy.evidence import row_hash

_INTEGERS = ("seq", "try_number", "age_days")
_NULLABLE = ("dag_id", "run_id", "task_id", "source", "record_ref", "subject_ref", "rule")


@dataclass(frozen=True)
class SegmentReport:
    ok: bool
    rows: int
    first_seq: int | None = None
    first_prev_hash: str | None = None
    last_seq: int | None = None
    last_hash: str | None = None
    bad_seq: int | None = None
    problem: str | None = None

    def summary(self) -> str:
        if not self.ok:
            where = f"row #{self.bad_seq}" if self.bad_seq is not None else "the file"
            return f"evidence CSV BROKEN at {where}: {self.problem}"
        if not self.rows:
            return "evidence CSV intact: no rows"
        return (
            f"evidence CSV intact: {self.rows} rows, #{self.first_seq}..#{self.last_seq}; "
            f"links to previous hash {self.first_prev_hash}; last hash {self.last_hash}"
        )


def _typed(raw: dict[str, str]) -> dict:
    row: dict = dict(raw)
    for column in _INTEGERS:
        row[column] = int(raw[column]) if raw[column] != "" else None
    for column in _NULLABLE:
        if raw[column] == "":
            row[column] = None
    return row


def verify_rows(rows: Iterable[dict[str, str]], expect_prev: str | None = None) -> SegmentReport:
    count, first_seq, first_prev, prev, seq = 0, None, None, expect_prev, None
    for raw in rows:
        try:
            row = _typed(raw)
        except (KeyError, ValueError) as exc:
            return SegmentReport(
                False,
                count,
                first_seq,
                first_prev,
                seq,
                prev,
                None,
                f"unreadable row after #{seq}: {exc}",
            )
        problem = None
        if seq is not None and row["seq"] != seq + 1:
            problem = f"expected row #{seq + 1} next, found #{row['seq']} (rows removed)"
        elif seq is None and prev is not None and row["prev_hash"] != prev:
            problem = "its previous-hash is not the expected one (the previous piece's last hash)"
        elif prev is not None and row["prev_hash"] != prev:
            problem = "its previous-hash does not match the row before (removed or reordered)"
        elif row_hash(row) != row["row_hash"]:
            problem = "its content does not match its hash (edited)"
        if problem:
            return SegmentReport(
                False, count, first_seq, first_prev, seq, prev, row["seq"], problem
            )
        if first_seq is None:
            first_seq, first_prev = row["seq"], row["prev_hash"]
        count += 1
        seq, prev = row["seq"], row["row_hash"]
    return SegmentReport(True, count, first_seq, first_prev, seq, prev)


def verify_csv(
    stream: IO[str],
    expect_head: tuple[int, str],
    expect_rows: int,
    expect_prev: str | None = None,
) -> SegmentReport:
    """The CSV must be a whole piece of the chain that ends at `expect_head` (the report's last
    row, `SEQ:HASH`) and holds `expect_rows` rows: a file cut at the end, or at the start,
    fails."""
    reader = csv.DictReader(stream)
    missing = [c for c in ALL_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        return SegmentReport(False, 0, problem=f"not an evidence CSV: columns {missing} missing")
    result = verify_rows(reader, expect_prev)
    if not result.ok:
        return result
    head_seq, head_hash = expect_head
    problem = None
    if result.last_seq != head_seq or result.last_hash != head_hash:
        problem = (
            f"it ends at row #{result.last_seq} ({result.last_hash}), but the report's last row "
            f"is #{head_seq} ({head_hash}): rows were cut off the end"
        )
    elif result.rows != expect_rows or result.first_seq != head_seq - expect_rows + 1:
        problem = (
            f"it has {result.rows} rows from #{result.first_seq}, but the report has "
            f"{expect_rows} rows ending at #{head_seq}: rows were cut off the start"
        )
    if problem:
        return SegmentReport(
            False,
            result.rows,
            result.first_seq,
            result.first_prev_hash,
            result.last_seq,
            result.last_hash,
            None,
            problem,
        )
    return result
