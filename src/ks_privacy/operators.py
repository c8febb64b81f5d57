"""Airflow's human-in-the-loop operators, made to fit people: the right people assigned for each
run, four eyes on erasures, a message when a step waits, and a time-out that ends as evidence.

Who may answer is Airflow's own `assigned_users`, computed when the step starts waiting (from
Airflow variable `ks_people`): Airflow's HITL API then refuses anyone else with a 403 naming the
user (`routes/public/hitl.py`: the auth manager's `is_authorized_hitl_task`). The check is
repeated when the answer arrives, for auth managers that let everyone answer (SimpleAuthManager
with `simple_auth_manager_all_admins`).
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from airflow.providers.standard.operators.hitl import ApprovalOperator, HITLOperator
from airflow.sdk.exceptions import AirflowFailException

from ks_privacy.notify.notifiers import HumanStepWaiting

log = logging.getLogger("ks_privacy.operators")
_UNSAFE = re.compile(r"[^\w .:/#=+,()\[\]-]")


def plain_name(name: str | None) -> str:
    """A staff member's name or id as evidence may hold it (no quotes, no addresses)."""
    return _UNSAFE.sub("_", name or "unknown")[:80]


_plain = plain_name


def request_parties(context) -> tuple[str | None, str | None]:
    """(who triggered the run, who verified the identity): the register's verifier, the
    run's params before the request is registered."""
    from ks_privacy import runtime
    from ks_privacy.register import Register

    requester = getattr(context["dag_run"], "triggering_user_name", None)
    params = context["params"]
    row = Register(runtime.audit_trail()).get(params["request_ref"])
    verifier = row.identity_verified_by if row else params.get("identity_verified_by")
    return requester, verifier


def _record(event: str, outcome: str, **fields) -> None:
    from ks_privacy import runtime
    from ks_privacy.evidence import Evidence

    runtime.audit_trail().append([Evidence(event=event, outcome=outcome, **fields)])


def _tell_timed_out(context, what: str, ref: str | None, days: float) -> None:
    """The step's people and ops hear that nobody answered (a failed channel does not hide
    the time-out: the evidence is written and the task fails either way)."""
    from ks_privacy.notify import messages
    from ks_privacy.notify.channels import NotificationFailed, deliver
    from ks_privacy.notify.notifiers import run_link
    from ks_privacy.notify.people import load_people

    people = load_people()
    recipients = [person for _, person in context["task"].assignees(context, people)]
    recipients += [p for _, p in people.members("ops") if p not in recipients]
    ti = context["ti"]
    link = run_link(ti.dag_id, ti.run_id)
    try:
        message = messages.step_timed_out(what, ti.dag_id, ti.run_id, ref, days, link)
        deliver(message, people, recipients)
    except NotificationFailed as exc:
        log.error("%s", exc)


class RecordedApprovalOperator(ApprovalOperator):
    """Approve or reject an erasure. Assigned to the approvers in `ks_people` except the person
    who triggered the run and the one who verified the identity (four eyes); the decision, with
    all three names, is evidence; a time-out is `approval.timed_out` evidence and a message."""

    def __init__(self, *, timeout_days: float, counts_task_id: str = "locate", **kwargs):
        super().__init__(
            response_timeout=timedelta(days=timeout_days),
            notifiers=[HumanStepWaiting()],
            **kwargs,
        )
        self.timeout_days = timeout_days
        self.counts_task_id = counts_task_id

    def assignees(self, context, people) -> list:
        """(user id, person) of the approvers who may answer this run: four eyes."""
        excluded = people.identities(*request_parties(context))
        return [
            (uid, person)
            for uid, person in people.require("approvers")
            if not excluded & people.identities(uid)
        ]

    def execute(self, context):
        from ks_privacy.notify.people import load_people

        people = load_people()
        requester, verifier = request_parties(context)
        approvers = self.assignees(context, people)
        ref = context["params"]["request_ref"]
        if not approvers:
            raise AirflowFailException(
                f"four eyes: every approver in ks_people triggered request {ref} or verified the "
                "identity, so nobody may approve it; add another approver and clear this task. "
                "Nothing was erased."
            )
        self.assigned_users = [{"id": uid, "name": p.name} for uid, p in approvers]
        names = ", ".join(p.name for _, p in approvers)
        self.body = (self.body or "") + (
            f"\n\n**Four eyes:** {requester or 'nobody recorded'} triggered this request and "
            f"{verifier or 'nobody recorded'} verified the identity: neither may approve it. "
            f"Assigned approvers: {names}."
        )
        log.info("approval of %s assigned to %s (four eyes)", ref, names)
        return super().execute(context)

    def waiting_message(self, context, link: str):
        from ks_privacy.notify import messages

        located = context["ti"].xcom_pull(task_ids=self.counts_task_id) or {}
        counts = located.get("counts", {})
        ref = context["params"]["request_ref"]
        return messages.approval_waiting(ref, counts, link, self.timeout_days)

    def execute_complete(self, context, event):
        from ks_privacy.notify.people import load_people
        from ks_privacy.tasks.subject_requests import record_decision

        ref = context["params"]["request_ref"]
        if event.get("error_type") == "timeout":
            _record(
                "approval.timed_out",
                "timed_out",
                record_ref=ref,
                rule="erasure",
                details={"waited_days": self.timeout_days},
            )
            _tell_timed_out(context, "approval of the erasure", ref, self.timeout_days)
            raise AirflowFailException(
                f"nobody approved or rejected erasure request {ref} within "
                f"{self.timeout_days:g} days: recorded as timed_out; nothing was erased"
            )
        people = load_people()
        requester, verifier = request_parties(context)
        responder = event.get("responded_by_user") or {}
        who = responder.get("name") or responder.get("id")
        parties = {"requested_by": _plain(requester), "verified_by": _plain(verifier)}
        if people.identities(responder.get("id"), who) & people.identities(requester, verifier):
            _record(
                "approval.refused",
                "refused",
                record_ref=ref,
                rule="erasure",
                details={**parties, "answered_by": _plain(who), "reason": "four eyes"},
            )
            log.warning(
                "four eyes: %s triggered request %s or verified the identity and cannot answer "
                "its approval; the answer is discarded and the approval asked again",
                who,
                ref,
            )
            return self.execute(context)  # re-asks: Airflow clears a stored answer on upsert
        chosen = event.get("chosen_options") or []
        _record(
            "approval.decided",
            "approved" if chosen == [self.APPROVE] else "rejected",
            record_ref=ref,
            rule="erasure",
            details={**parties, "decided_by": _plain(who)},
        )
        response = HITLOperator.execute_complete(self, context=context, event=event)
        record_decision(response)
        return super().execute_complete(context=context, event=event)


class ManualStepOperator(HITLOperator):
    """A person does by hand what a source's API cannot (delete Tawk chats) and confirms.
    Assigned to the role in `ks_people` (e.g. `tawk_operators`); a time-out is
    `manual.timed_out` evidence and a message."""

    def __init__(
        self, *, source: str, role: str, worklist_task_id: str, timeout_days: float, **kwargs
    ):
        super().__init__(
            response_timeout=timedelta(days=timeout_days),
            notifiers=[HumanStepWaiting()],
            **kwargs,
        )
        self.source, self.role = source, role
        self.worklist_task_id = worklist_task_id
        self.timeout_days = timeout_days

    def assignees(self, context, people) -> list:
        return people.require(self.role)

    def execute(self, context):
        from ks_privacy.notify.people import load_people

        people = load_people()
        self.assigned_users = [
            {"id": uid, "name": p.name} for uid, p in self.assignees(context, people)
        ]
        return super().execute(context)

    def _records(self, context) -> int:
        return len(context["ti"].xcom_pull(task_ids=self.worklist_task_id) or [])

    def waiting_message(self, context, link: str):
        from ks_privacy.notify import messages

        ti = context["ti"]
        records = self._records(context)
        return messages.manual_step_waiting(
            self.source, records, ti.dag_id, ti.run_id, link, self.timeout_days
        )

    def execute_complete(self, context, event):
        if event.get("error_type") == "timeout":
            _record(
                "manual.timed_out",
                "timed_out",
                source=self.source,
                details={"records": self._records(context), "waited_days": self.timeout_days},
            )
            what = f"confirmation of the {self.source} deletions"
            _tell_timed_out(context, what, None, self.timeout_days)
            raise AirflowFailException(
                f"nobody confirmed the manual deletion in {self.source} within "
                f"{self.timeout_days:g} days: recorded as timed_out; the records stay on the "
                "worklist"
            )
        return super().execute_complete(context=context, event=event)
