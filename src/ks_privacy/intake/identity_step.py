"""The human step of `ks_request_identity`: ops compare the ID copy attached to the request's
message with the request, in their mail client (we never download or keep it), and confirm or
refuse. Assigned to `ops` in `ks_people`; the time allowed runs from the request's
registration (policy `intake.identity_timeout_days`), and a time-out is an answer too: the
request is closed as identity_not_verified.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.providers.standard.operators.hitl import HITLOperator

from ks_privacy.notify.notifiers import HumanStepWaiting
from ks_privacy.operators import plain_name

CONFIRMED = "Identity confirmed"
REFUSED = "Not verified"


class IdentityCheckOperator(HITLOperator):
    def __init__(self, *, timeout_days: float, **kwargs):
        super().__init__(
            options=[CONFIRMED, REFUSED],
            response_timeout=timedelta(days=timeout_days),
            notifiers=[HumanStepWaiting()],
            **kwargs,
        )
        self.timeout_days = timeout_days

    def assignees(self, context, people) -> list:
        return people.require("ops")

    def _row(self, context):
        from ks_privacy import runtime
        from ks_privacy.register import Register

        return Register(runtime.audit_trail()).get(context["params"]["request_ref"])

    def execute(self, context):
        from ks_privacy.notify.people import load_people

        people = load_people()
        self.assigned_users = [
            {"id": uid, "name": p.name} for uid, p in self.assignees(context, people)
        ]
        row = self._row(context)
        if row is not None:  # the time allowed counts from registration, not from this run
            ends = row.registered_at + timedelta(days=self.timeout_days)
            self.response_timeout = max(ends - datetime.now(UTC), timedelta(seconds=1))
        return super().execute(context)

    def waiting_message(self, context, link: str):
        from ks_privacy.notify import messages

        row = self._row(context)
        when = row.received_on.isoformat() if row else "unknown"
        days = self.response_timeout.total_seconds() / 86400 if self.response_timeout else 0
        return messages.identity_waiting(
            context["params"]["request_ref"], row.kind if row else "?", when, link, round(days, 1)
        )

    def execute_complete(self, context, event):
        if event.get("error_type") == "timeout":
            return {"decision": "timed_out", "by": None}
        super().execute_complete(context=context, event=event)
        responder = event.get("responded_by_user") or {}
        who = plain_name(responder.get("name") or responder.get("id"))
        chosen = event.get("chosen_options") or []
        return {"decision": "confirmed" if chosen == [CONFIRMED] else "refused", "by": who}
