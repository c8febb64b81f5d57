"""Per-source action tasks shared by the sweep and the erasure request: carry out the run's plan
(apply), hand what has no API to a person (worklist, confirmation), and read it all back (verify).
"""

from __future__ import annotations

from airflow.sdk import get_current_context

from ks_privacy import runtime, sweep
from ks_privacy.pseudonym import pseudonymiser_from_airflow
from ks_privacy.sources import build_source
from ks_privacy.sweep import SweepStep

MANUAL_YES = "All listed chats are deleted"


def step_for(source_name: str) -> SweepStep:
    """Everything one source's task needs, from the running task's context."""
    context = get_current_context()
    policy = runtime.policy()
    trail = runtime.audit_trail()
    return SweepStep(
        policy=policy,
        source_name=source_name,
        source=build_source(policy, source_name),
        engine=trail.engine,
        trail=trail,
        pseudonymise=pseudonymiser_from_airflow(),
        now=runtime.reference_time(context),
        dry_run=bool(context["params"]["dry_run"]),
    )


def apply(source_name: str) -> dict:
    return sweep.apply(step_for(source_name))


def worklist(source_name: str) -> list[str]:
    """The refs a person must delete by hand (ids only, no personal data)."""
    return sweep.worklist(step_for(source_name).plan)


def confirm(source_name: str, refs: list[str], hitl_result: dict | None) -> int:
    """Record who confirmed the manual deletion; refuse anything but an explicit yes."""
    chosen = (hitl_result or {}).get("chosen_options") or []
    if chosen != [MANUAL_YES]:
        raise RuntimeError(
            f"manual deletion in {source_name} was not confirmed (answer: {chosen or 'none'}); "
            "the chats stay on the worklist of this run"
        )
    responder = (hitl_result or {}).get("responded_by_user") or {}
    who = str(responder.get("name") or responder.get("id") or "unknown")
    return sweep.confirm_manual(step_for(source_name), who, refs)


def verify(source_name: str) -> dict:
    return sweep.verify(step_for(source_name))


def has_worklist(refs: list[str]) -> bool:
    """Only ask a person when there is something to delete by hand."""
    return bool(refs)
