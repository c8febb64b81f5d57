"""Anchors: the chain's head, published outside the audit database, so that nobody with access
to the database alone can cut or rewrite the chain unnoticed.

Every `ks_audit_verify` run and every sweep report writes one anchor: a small JSON object (row
number, row hash, row count, the row's time, when and by which task it was published), signed
with the audit key (`<anchor>.sig`, ks_privacy.signing) and, when a time-stamping authority is
configured, countersigned by it (`<anchor>.tsr`, ks_privacy.timestamps). Objects are written
once and never overwritten, under the `ObjectStoragePath` of Airflow variable
`ks_audit_anchor_base` (default `$AIRFLOW_HOME/ks-audit-anchors/`; in production a bucket with
object lock, so nobody can delete or replace an anchor either).

`verify` checks the chain against every anchor in the store: each anchored row must still be in
the chain with the hash the anchor recorded. Deleting the newest rows, or editing a row and
re-hashing every row after it, changes an anchored row or removes it, and the anchor is named.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.engine import Engine

from ks_privacy import signing
from ks_privacy.audit_db import connection
from ks_privacy.evidence import AuditTrail, ChainHead, canonical_time, chain_head, row_hash
from ks_privacy.timeutil import as_utc

log = logging.getLogger("ks_privacy.anchors")

BASE_VARIABLE = "ks_audit_anchor_base"
FORMAT = "ks-audit-anchor/1"
NAME = re.compile(r"^anchor-(\d{12})-(\d{8}T\d{12}Z)-([0-9a-f]{6})\.json$")


class AnchorRefused(RuntimeError):
    """The chain does not extend the newest anchor: publishing its head would bless tampering."""


@dataclass(frozen=True)
class Anchor:
    name: str
    seq: int
    row_hash: str
    rows: int
    recorded_at: str
    published_at: str
    published_by: str
    signed: bool | None  # None: no public key to check the signature with
    timestamped: bool | None = None  # None: no token (or no TSA configured to check it)
    problem: str | None = None  # unreadable or malformed

    @property
    def label(self) -> str:
        return f"anchor {self.name} (row #{self.seq}, published {self.published_at})"


def base_url() -> str:
    """Airflow variable `ks_audit_anchor_base` (a folder or a bucket URL such as
    `s3://aws_default@bucket/ks-anchors/`), else `$AIRFLOW_HOME/ks-audit-anchors/`."""
    from ks_privacy.settings import storage_base_url

    return storage_base_url(BASE_VARIABLE, "ks-audit-anchors")


def store(url: str | None = None):
    from airflow.sdk import ObjectStoragePath

    return ObjectStoragePath(url or base_url())


# ---- reading ---------------------------------------------------------------------------------


def _parse(name: str, data: bytes, signed: bool | None, timestamped: bool | None) -> Anchor:
    try:
        body = json.loads(data)
        if body.get("format") != FORMAT:
            raise ValueError(f"format {body.get('format')!r}")
        return Anchor(
            name,
            int(body["seq"]),
            str(body["row_hash"]),
            int(body["rows"]),
            str(body["recorded_at"]),
            str(body["published_at"]),
            str(body.get("published_by", "")),
            signed,
            timestamped,
        )
    except (ValueError, KeyError, TypeError) as exc:
        seq = int(NAME.match(name).group(1))
        return Anchor(name, seq, "", 0, "", "", "", signed, timestamped, f"unreadable: {exc}")


def read_anchors(base, public: Ed25519PublicKey | None, tsa=None) -> list[Anchor]:
    """Every anchor in the store, oldest row first, each with its signature checked (when a
    public key is given) and its timestamp token checked (when a TSA is given)."""
    from ks_privacy.timestamps import TSR_SUFFIX, TimestampError

    if not base.exists():
        return []
    found = []
    for path in base.iterdir():
        if not NAME.match(path.name):
            continue
        data = path.read_bytes()
        signed = None
        if public is not None:
            sig = signing.signature_path(path)
            signed = sig.exists() and signing.verify(public, data, sig.read_bytes())
        timestamped = None
        token = path.parent / (path.name + TSR_SUFFIX)
        if tsa is not None and token.exists():
            try:
                tsa.check(token.read_bytes(), data)
                timestamped = True
            except TimestampError:
                timestamped = False
        found.append(_parse(path.name, data, signed, timestamped))
    return sorted(found, key=lambda a: (a.seq, a.name))


def _hashes_at(engine: Engine, seqs: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(seqs))
    out: dict[int, str] = {}
    with connection(engine) as conn:
        for start in range(0, len(wanted), 1000):
            query = sa.text("SELECT seq, row_hash FROM ks_evidence WHERE seq IN :seqs").bindparams(
                sa.bindparam("seqs", expanding=True)
            )
            for seq, digest in conn.execute(query, {"seqs": wanted[start : start + 1000]}):
                out[int(seq)] = digest
    return out


def check(engine: Engine, anchors: Sequence[Anchor]) -> tuple[list[str], list[str]]:
    """(problems, flags): every anchor against the chain as stored now. The caller walks the
    chain too (`AuditTrail.verify`): a stored hash that matches the anchor is only proof when
    every row up to it also hashes to what is stored."""
    problems, flags = [], []
    stored = _hashes_at(engine, (a.seq for a in anchors if not a.problem))
    head = chain_head(engine)
    last = head.seq if head else 0
    for anchor in anchors:
        if anchor.problem:
            problems.append(f"anchor {anchor.name} is {anchor.problem}")
            continue
        if anchor.signed is False:
            problems.append(f"{anchor.label} is not signed by the audit key (planted or altered)")
        elif anchor.signed is None:
            flags.append(f"{anchor.label}: signature not checked (no public key given)")
        if anchor.timestamped is False:
            problems.append(f"{anchor.label}: its timestamp token does not verify")
        found = stored.get(anchor.seq)
        if found is None:
            problems.append(
                f"{anchor.label}: the chain no longer has row #{anchor.seq}; it ends at "
                f"#{last}: rows were removed from the end"
            )
        elif found != anchor.row_hash:
            problems.append(
                f"{anchor.label}: row #{anchor.seq} now has hash {found}, the anchor recorded "
                f"{anchor.row_hash}: the chain was rewritten at or before row #{anchor.seq}"
            )
    return problems, flags


# ---- publishing ------------------------------------------------------------------------------


def _segment_problem(engine: Engine, newest: Anchor | None, head: ChainHead) -> str | None:
    """Does the chain still extend the newest anchor? Walk only the rows since it."""
    if newest is None:
        return None
    if head.seq < newest.seq:
        return f"the chain ends at row #{head.seq}, before {newest.label}"
    trail = AuditTrail(engine)
    prev, seq, last_time = newest.row_hash, newest.seq, None
    for row in trail.rows("WHERE seq >= :s", {"s": newest.seq}):
        if row["seq"] == newest.seq:
            if row["row_hash"] != newest.row_hash or row_hash(row) != newest.row_hash:
                return f"row #{newest.seq} no longer matches {newest.label}"
            last_time = as_utc(row["recorded_at"])
            continue
        recorded = as_utc(row["recorded_at"])
        if (
            row["seq"] != seq + 1
            or row["prev_hash"] != prev
            or row_hash(row) != row["row_hash"]
            or recorded < last_time
        ):
            return f"row #{row['seq']} does not continue the chain after {newest.label}"
        seq, prev, last_time = row["seq"], row["row_hash"], recorded
    return None


def write_once(path, data: bytes) -> None:
    """Create the object, never replace one (object lock makes it permanent in a bucket)."""
    try:
        with path.open("xb") as target:
            target.write(data)
        return
    except (ValueError, NotImplementedError, TypeError):  # a filesystem without exclusive create
        pass
    if path.exists():
        raise FileExistsError(str(path))
    path.write_bytes(data)


@dataclass(frozen=True)
class Published:
    name: str
    url: str
    head: ChainHead
    timestamped: bool
    note: str = ""


def publish(
    engine: Engine,
    published_by: str,
    key: Ed25519PrivateKey | None = None,
    base=None,
    tsa=None,
) -> Published | None:
    """Write the chain's head as a new signed anchor, after checking that the chain still
    extends the newest anchor already there (else AnchorRefused). None for an empty chain.
    `tsa`: a TimestampAuthority, or None to look up connection `ks_audit_tsa` (off if absent)."""
    from ks_privacy import timestamps

    key = key or signing.load_private_key()
    base = base if base is not None else store()
    base.mkdir(parents=True, exist_ok=True)
    head = chain_head(engine)
    if head is None:
        return None
    anchors = [a for a in read_anchors(base, key.public_key()) if a.signed and not a.problem]
    newest = max(anchors, key=lambda a: a.seq) if anchors else None
    problem = _segment_problem(engine, newest, head)
    if problem:
        raise AnchorRefused(f"no anchor published: {problem}")
    now = datetime.now(UTC)
    body = {
        "format": FORMAT,
        "seq": head.seq,
        "row_hash": head.row_hash,
        "rows": head.rows,
        "recorded_at": canonical_time(head.recorded_at),
        "published_at": canonical_time(now),
        "published_by": published_by,
    }
    data = (json.dumps(body, sort_keys=True, indent=2) + "\n").encode("ascii")
    name = f"anchor-{head.seq:012d}-{now:%Y%m%dT%H%M%S%f}Z-{secrets.token_hex(3)}.json"
    path = base / name
    write_once(signing.signature_path(path), signing.sign(key, data))
    write_once(path, data)
    stamped, note = False, ""
    authority = tsa if tsa is not None else timestamps.configured_authority()
    if authority is not None:
        try:
            token = authority.stamp(data)
            write_once(path.parent / (name + timestamps.TSR_SUFFIX), token)
            stamped = True
        except timestamps.TimestampError as exc:
            note = f"published without a timestamp: {exc}"
            log.warning("anchor %s %s", name, note)
    log.info(
        "ANCHOR %s:%s published as %s (%s rows)%s",
        head.seq,
        head.row_hash,
        path,
        head.rows,
        ", timestamped" if stamped else "",
    )
    return Published(name, str(path), head, stamped, note)


def newest(public: Ed25519PublicKey | None = None, base=None) -> Anchor | None:
    """The newest anchor with a good signature (a digest can quote it as the verified head)."""
    if public is None:
        public = signing.load_private_key().public_key()
    anchors = [a for a in read_anchors(base or store(), public) if a.signed and not a.problem]
    return max(anchors, key=lambda a: (a.seq, a.published_at)) if anchors else None


def publish_from_task(engine: Engine) -> Published | None:
    """`publish` from inside a task: named after the task, key and TSA from Airflow."""
    from airflow.sdk import get_current_context

    ti = get_current_context()["ti"]
    return publish(engine, f"{ti.dag_id}/{ti.run_id}/{ti.task_id}")
