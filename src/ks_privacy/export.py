"""Files for people: access/portability exports and request confirmations, written through
Airflow's ObjectStoragePath (a local folder by default, a bucket in production).

Exports are personal data too: the sweep deletes them after the policy's export retention.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

EXPORT_BASE_VARIABLE = "ks_export_base"


def export_base():
    """Where exports and confirmations go: Airflow variable `ks_export_base` (e.g.
    `s3://aws_default@bucket/ks/`), else `$AIRFLOW_HOME/ks-exports/`."""
    from airflow.sdk import ObjectStoragePath

    from ks_privacy.settings import storage_base_url

    return ObjectStoragePath(storage_base_url(EXPORT_BASE_VARIABLE, "ks-exports"))


@dataclass(frozen=True)
class WrittenExport:
    sha256: str
    size: int
    counts: dict[str, int]
    location_hint: str  # the path without the bucket's credentials; holds the ref, no names


def _flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """One CSV row per record: nested fields as dotted columns, lists as JSON text."""
    if isinstance(value, dict):
        flat: dict[str, str] = {}
        for key, inner in value.items():
            flat.update(_flatten(inner, f"{prefix}{key}."))
        return flat
    if isinstance(value, list):
        return {prefix.rstrip("."): json.dumps(value, ensure_ascii=False, default=str)}
    return {prefix.rstrip("."): "" if value is None else str(value)}


def _records(data: dict[str, Any]) -> list[dict]:
    """A source's export is {"kind": [records...]}: tag each record with its kind."""
    rows = []
    for kind, items in data.items():
        for item in items if isinstance(items, list) else [items]:
            rows.append({"record_kind": kind, **_flatten(item)})
    return rows


def record_count(payload: dict[str, Any]) -> int:
    """How many records a source's export holds (what its CSV has rows for)."""
    return len(_records(payload))


def build_zip(request_ref: str, data: dict[str, dict[str, Any]]) -> tuple[bytes, dict[str, int]]:
    """export.json (everything, structured per source) plus one CSV per source."""
    buffer = io.BytesIO()
    counts = {}
    document = {
        "request_ref": request_ref,
        "generated_at": datetime.now(UTC).isoformat(),
        "controller": "KlantenScoren (KRIS consult), Madoerastraat 5, 2585 VA Den Haag",
        "sources": data,
    }
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "export.json", json.dumps(document, ensure_ascii=False, indent=2, default=str)
        )
        for source, payload in data.items():
            rows = _records(payload)
            counts[source] = len(rows)
            text = io.StringIO()
            columns = sorted({key for row in rows for key in row})
            writer = csv.DictWriter(text, fieldnames=columns or ["record_kind"])
            writer.writeheader()
            writer.writerows(rows)
            archive.writestr(f"{source}.csv", text.getvalue())
    return buffer.getvalue(), counts


def write_export(request_ref: str, data: dict[str, dict[str, Any]]) -> WrittenExport:
    content, counts = build_zip(request_ref, data)
    folder = export_base() / "access" / request_ref
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{request_ref}.zip"
    with target.open("wb") as handle:
        handle.write(content)
    return WrittenExport(
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
        counts=counts,
        location_hint=f"access/{request_ref}/{request_ref}.zip",
    )


def write_confirmation(request_ref: str, text: str) -> str:
    folder = export_base() / "confirmations"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{request_ref}.txt"
    target.write_text(text)
    return f"confirmations/{request_ref}.txt"


def expired_exports(retention_days: int, now: datetime) -> list:
    """Export folders older than the retention: what the sweep deletes."""
    base = export_base() / "access"
    if not base.exists():
        return []
    limit = now - timedelta(days=retention_days)
    expired = []
    for folder in base.iterdir():
        files = list(folder.iterdir()) if folder.is_dir() else [folder]
        stamps = [datetime.fromtimestamp(f.stat().st_mtime, UTC) for f in files] or [limit]
        if max(stamps) <= limit:
            expired.append(folder)
    return expired
