"""Looking for an address everywhere the suite controls: every text and binary column of every
table of Airflow's metadata database (dag_run, XCom, HITL, the audit log, serialized DAGs...)
and of the audit database, and every file under Airflow's home (task logs). In the forms an
address takes: as typed, lower case, and percent-encoded as in a URL's query."""

from __future__ import annotations

import contextlib
import os
import zlib
from pathlib import Path
from urllib.parse import quote, quote_plus

import sqlalchemy as sa


def forms_of(email: str) -> set[str]:
    """Lower-cased: every comparison below is on lower-cased text."""
    text = email.strip()
    return {f.lower() for f in (text, quote(text, safe=""), quote_plus(text), quote(text))}


def _texts(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes):
        texts = [value.decode("utf-8", "replace")]
        with contextlib.suppress(zlib.error):  # serialized DAGs are zlib-compressed
            texts.append(zlib.decompress(value).decode("utf-8", "replace"))
        return texts
    return [str(value)]


def scan_database(url, email: str) -> list[str]:
    """`table.column` for every cell that holds the address in any of its forms."""
    engine = sa.create_engine(url)
    try:
        return scan_engine(engine, email)
    finally:
        engine.dispose()


def scan_engine(engine: sa.Engine, email: str) -> list[str]:
    forms = forms_of(email)
    found = []
    tables = sa.inspect(engine).get_table_names()
    assert tables, "no tables: wrong database?"
    with engine.connect() as conn:
        for table in tables:
            result = conn.execute(sa.text(f'SELECT * FROM "{table}"'))
            columns = list(result.keys())
            for row in result:
                for column, value in zip(columns, row, strict=True):
                    for text in _texts(value):
                        if any(f in text.lower() for f in forms):
                            found.append(f"{table}.{column}")
    return sorted(set(found))


def scan_airflow_metadata(email: str) -> list[str]:
    """Through Airflow's own engine on its metadata database: a second SQLite engine on the
    file of a long test session has met `disk I/O error` where Airflow's own kept working."""
    from airflow import settings

    assert str(settings.get_engine().url) == os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    return scan_engine(settings.get_engine(), email)


def scan_files(folder: Path, email: str) -> list[str]:
    """Files under `folder` (task logs, anything Airflow writes) holding the address."""
    forms = forms_of(email)
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", "replace").lower()
            if any(f in text for f in forms):
                found.append(str(path.relative_to(folder)))
    return sorted(found)
