"""A legal hold placed in the register (by pseudonym) stops the daily sweep in every source,
including those with no hold mark of their own (Tawk chats): the person's due records are
planned as `hold`, counted as held and left in place; once the hold is lifted they go."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ks_privacy import sweep
from ks_privacy.holds import LegalHolds
from tests.fixtures import steps


def plan_of(step: sweep.SweepStep) -> list[tuple[str, str, str]]:
    """(subject_ref, record_ref, action) of the step's run."""
    with step.engine.connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT subject_ref, record_ref, action FROM ks_plan "
                "WHERE run_id = :run AND source = :source"
            ),
            {"run": step.trail.context.run_id, "source": step.source_name},
        ).all()


@pytest.mark.parametrize("source_name", ["tawk", "google_contacts"])
def test_a_register_hold_keeps_a_due_person_until_lifted(vendors, source_name):
    probe = steps.make_step(vendors.audit_url, source_name, run_id="probe")
    sweep.scan(probe, full_scan=True)
    due = [(s, r) for s, r, action in plan_of(probe) if action == "erase" and s]
    assert due, "the seed should give this source a person whose records are due"
    subject = due[0][0]
    their_refs = {r for s, r in due if s == subject}

    holds = LegalHolds(probe.trail)
    assert holds.place(subject, "litigation", "CASE-2026-0042", placed_by="ops")

    held_run = steps.make_step(vendors.audit_url, source_name, run_id="held")
    counts = sweep.scan(held_run, full_scan=True)
    actions = {r: a for s, r, a in plan_of(held_run) if s == subject}
    assert {r for r, a in actions.items() if a in ("erase", "redact")} == set()
    assert their_refs <= {r for r, a in actions.items() if a == "hold"}
    assert counts["hold"] >= len(their_refs)
    sweep.apply(held_run)
    assert all(v is not None for v in held_run.source.present(sorted(their_refs)).values())
    assert not set(sweep.worklist(held_run.plan)) & their_refs  # nothing asked of a human

    assert holds.lift(subject, lifted_by="ops")
    lifted_run = steps.make_step(vendors.audit_url, source_name, run_id="lifted")
    sweep.scan(lifted_run, full_scan=True)
    actions = {r: a for s, r, a in plan_of(lifted_run) if s == subject}
    assert their_refs <= {r for r, a in actions.items() if a == "erase"}
