"""The outcome writer: a batch's outcome rows go to the audit database in a second thread while
the next batch's vendor calls go out."""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor

from ks_privacy.audit_db import transaction
from ks_privacy.plans import DONE, Plan, PlanRow
from ks_privacy.sources.base import ActionResult, Outcome
from ks_privacy.sweep.step import SweepStep

log = logging.getLogger("ks_privacy.sweep")


class OutcomeWriter:
    """Writes a batch's outcome rows in a second thread while the next batch's vendor calls go
    out, so the time the audit database takes does not hold the calls up (at the vendor's rate,
    it would: a third of the time at 100 requests/s).

    Write-ahead is unchanged: a batch's intents are committed before its first call, in the
    calling thread. The previous batch's outcomes are handed over only after the next batch's
    intents are in (the two would otherwise queue for the same chain lock), and at most one
    batch's outcomes are ever waiting. On any error, what is waiting is written first and then
    the outcomes known so far, in the calling thread, before the error goes on; a crash leaves
    at most two batches of open intents, which the next try reads back.
    """

    def __init__(self, step: SweepStep, plan: Plan, action: str):
        self.step, self.plan, self.action = step, plan, action
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ks-outcomes")
        self._running: Future | None = None
        self._waiting: tuple[dict, list[ActionResult]] | None = None

    def done(self, by_ref: dict[str, PlanRow], results: list[ActionResult]) -> None:
        """A batch's calls are done: its outcomes are written once the next intents are in."""
        self.hand_over()
        self._waiting = (by_ref, results)

    def hand_over(self) -> None:
        """Start writing the waiting outcomes (after the previous write has finished)."""
        self.wait()
        if self._waiting is not None:
            by_ref, results = self._waiting
            self._waiting = None
            self._running = self._pool.submit(
                record_outcomes, self.step, self.plan, self.action, by_ref, results
            )

    def wait(self) -> None:
        if self._running is not None:
            running, self._running = self._running, None
            running.result()  # an error writing evidence stops the loop here

    def record_now(self, by_ref: dict[str, PlanRow], results: list[ActionResult]) -> None:
        """After an error: everything waiting, then these, in this thread."""
        self.hand_over()
        self.wait()
        record_outcomes(self.step, self.plan, self.action, by_ref, results)

    def __enter__(self) -> OutcomeWriter:
        return self

    def __exit__(self, kind, error, tb) -> None:
        try:
            self.hand_over()
            self.wait()
        except Exception:
            if error is None:
                raise
            log.exception("writing outcomes failed while handling another error")
        finally:
            self._pool.shutdown(wait=True)


def record_outcomes(
    step: SweepStep,
    plan: Plan,
    action: str,
    by_ref: dict[str, PlanRow],
    results: list[ActionResult],
) -> None:
    """One batch's outcomes in one transaction: evidence, plan states, the clock ledger, and the
    claims released."""
    if not results:
        return
    with transaction(step.engine) as conn:
        step.trail.append(
            [
                step.evidence(f"{action}.outcome", res.outcome, by_ref[res.ref], **res.details)
                for res in results
            ],
            conn,
        )
        for outcome in {res.outcome for res in results}:
            plan.mark(conn, [r.ref for r in results if r.outcome == outcome], DONE, outcome)
        for res in results:
            row = by_ref[res.ref]
            if res.outcome == Outcome.REDACTED and res.vendor_stamp_after and row.last_activity:
                step.ledger.record_write(conn, res.ref, row.last_activity, res.vendor_stamp_after)
        gone = [r.ref for r in results if r.outcome in (Outcome.ERASED, Outcome.ALREADY_ABSENT)]
        step.ledger.forget(conn, gone)
        plan.release(conn, [r.ref for r in results])
