"""Operators of our own: only where Airflow's need one more step."""

from __future__ import annotations

from airflow.providers.standard.operators.hitl import ApprovalOperator, HITLOperator


class RecordedApprovalOperator(ApprovalOperator):
    """Airflow's ApprovalOperator that first records the human decision as evidence.

    The stock operator ends a "Reject" by skipping downstream tasks without pushing the answer,
    so nothing later could say who rejected. Here the decision (who, which option) goes into the
    requests register and the audit trail before the usual approve/skip behaviour.
    """

    def execute_complete(self, context, event):
        from ks_privacy.tasks.subject_requests import record_decision

        response = HITLOperator.execute_complete(self, context=context, event=event)
        record_decision(response)
        return super().execute_complete(context=context, event=event)
