"""Apply is resumable: a process that dies between a vendor call and its outcome row leaves an
open intent; the retry reads the record back and closes it. One intent and one outcome per
action, never a second delete."""

from __future__ import annotations

from collections import Counter

import pytest
import sqlalchemy as sa

from ks_privacy import sweep
from ks_privacy.evidence import AuditTrail
from tests.fixtures import steps


class Crash(BaseException):
    """Stands in for SIGKILL: nothing after it runs, not even `except Exception` blocks."""


def make_step(vendors, source_name: str, try_number: int = 1) -> sweep.SweepStep:
    return steps.make_step(vendors.audit_url, source_name, try_number)


@pytest.mark.parametrize("source_name", ["activecampaign", "google_contacts"])
def test_crash_between_delete_and_outcome_is_closed_by_the_retry(vendors, source_name, monkeypatch):
    step = make_step(vendors, source_name)
    sweep.scan(step, full_scan=True)
    planned = step.plan.counts()
    to_erase = sum(n for (a, _, _), n in planned.items() if a == "erase")
    assert to_erase > 5

    real_erase = type(step.source).erase
    calls = Counter()

    def erase_then_die(self, refs):
        results = real_erase(self, refs)  # the vendor really deleted them...
        calls["batches"] += 1
        if calls["batches"] == 1:
            raise Crash()  # ...and the process died before the outcome rows were written
        return results

    monkeypatch.setattr(type(step.source), "erase", erase_then_die)
    with pytest.raises(Crash):
        sweep.apply(step)
    monkeypatch.setattr(type(step.source), "erase", real_erase)

    retry = make_step(vendors, source_name, try_number=2)
    sweep.apply(retry)
    sweep.verify(retry)
    with step.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT record_ref, event, outcome FROM ks_evidence WHERE run_id = 'resume_run' "
                "AND source = :s AND event LIKE 'erase.%'"
            ),
            {"s": source_name},
        ).all()
    per_ref = Counter((ref, event) for ref, event, _ in rows)
    refs = {ref for ref, _, _ in rows}
    assert len(refs) == to_erase
    assert all(per_ref[(ref, "erase.intent")] == 1 for ref in refs)
    assert all(per_ref[(ref, "erase.outcome")] == 1 for ref in refs)
    outcomes = Counter(outcome for _, event, outcome in rows if event == "erase.outcome")
    assert outcomes == {"erased": to_erase}  # never "already_absent": nothing deleted twice
    assert AuditTrail(step.engine).verify().ok


def test_apply_twice_in_one_run_acts_once(vendors):
    step = make_step(vendors, "activecampaign")
    sweep.scan(step, full_scan=True)
    sweep.apply(step)
    with step.engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM ks_evidence")).scalar_one()
    sweep.apply(make_step(vendors, "activecampaign", try_number=2))
    assert sweep.scan(make_step(vendors, "activecampaign", 2), full_scan=True)["scanned"] > 0
    with step.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM ks_evidence")).scalar_one() == count
