"""The anchor store (ks_privacy.anchors) on real PostgreSQL: write-once signed objects, a publish
that refuses to bless a chain which no longer extends the newest anchor (what the sweep's
report does), and anchors that were planted or damaged."""

from __future__ import annotations

import json

import pytest

from ks_privacy import anchors, signing
from ks_privacy.evidence import AuditTrail, Evidence, RunContext
from tests.auditors.conftest import rehash_from, tamper

CTX = RunContext("ks_retention_daily", "r1", "tawk.apply", 1)


def _append(engine, n: int) -> None:
    AuditTrail(engine, CTX).append(
        [
            Evidence(event="verify", outcome="verified", source="tawk", record_ref=f"c{i}")
            for i in range(n)
        ]
    )


def _key():
    return signing.load_private_key()


def test_published_anchors_are_signed_write_once_objects(audit_engine, evidence_keys):
    _append(audit_engine, 5)
    first = anchors.publish(audit_engine, "test")
    body = json.loads((evidence_keys / first.name).read_bytes())
    assert (body["seq"], body["rows"], body["row_hash"]) == (5, 5, first.head.row_hash)
    assert body["published_by"] == "test" and body["format"] == "ks-audit-anchor/1"
    signature = (evidence_keys / (first.name + ".sig")).read_bytes()
    assert signing.verify(_key().public_key(), (evidence_keys / first.name).read_bytes(), signature)
    _append(audit_engine, 2)
    second = anchors.publish(audit_engine, "test")
    assert second.name != first.name and second.head.seq == 7
    found = anchors.read_anchors(anchors.store(), _key().public_key())
    assert [(a.seq, a.signed) for a in found] == [(5, True), (7, True)]
    assert anchors.newest(_key().public_key()).seq == 7
    # write once: the same object is never replaced
    with pytest.raises(FileExistsError):
        anchors.write_once(anchors.store() / first.name, b"{}")
    assert json.loads((evidence_keys / first.name).read_bytes())["seq"] == 5


@pytest.mark.parametrize("tampering", ["rehash", "cut"])
def test_a_publish_refuses_a_chain_that_no_longer_extends_the_newest_anchor(
    audit_engine, evidence_keys, tampering
):
    _append(audit_engine, 6)
    newest = anchors.publish(audit_engine, "sweep report")
    if tampering == "rehash":
        tamper(audit_engine, "UPDATE ks_evidence SET outcome = 'kept' WHERE seq = 3")
        rehash_from(audit_engine, 3)
        _append(audit_engine, 1)
        expected = f"row #6 no longer matches anchor {newest.name}"
    else:
        tamper(audit_engine, "DELETE FROM ks_evidence WHERE seq > 4")
        expected = f"the chain ends at row #4, before anchor {newest.name}"
    with pytest.raises(anchors.AnchorRefused, match="no anchor published") as refused:
        anchors.publish(audit_engine, "sweep report")
    assert expected in str(refused.value)
    assert len(list(evidence_keys.glob("anchor-*.json"))) == 1


def test_planted_or_damaged_anchors_are_problems(audit_engine, evidence_keys):
    _append(audit_engine, 3)
    good = anchors.publish(audit_engine, "test")
    head = good.head
    planted = f"anchor-{head.seq:012d}-20990101T000000000000Z-abcdef.json"
    forged = dict(json.loads((evidence_keys / good.name).read_bytes()), published_by="mallory")
    (evidence_keys / planted).write_text(json.dumps(forged))
    (evidence_keys / (planted + ".sig")).write_bytes(b"\0" * 64)
    damaged = f"anchor-{2:012d}-20990101T000000000001Z-fedcba.json"
    (evidence_keys / damaged).write_text("{not json")
    found = anchors.read_anchors(anchors.store(), _key().public_key())
    problems, _flags = anchors.check(audit_engine, found)
    assert any(planted in p and "not signed by the audit key" in p for p in problems)
    assert any(damaged in p and "unreadable" in p for p in problems)
    assert not any(good.name in p for p in problems)
