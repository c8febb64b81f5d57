"""The statuses a data-subject request moves through: one set for the register, the auditors'
checks, the tasks and the human-loop steps, so none of them meets a status it does not know.

    open -> awaiting_approval -> approved -> completed        (erasure)
    open -> completed                                          (access, rectification, consent)
    open | awaiting_approval | approved -> failed -> open      (a later run resumes it)

A request closes as completed, no_data_found (the address matched nobody anywhere), rejected
(a person decided against it at approval), refused (it cannot be carried out as asked, e.g. a
new e-mail address that belongs to someone else) or timed_out (a human step was not answered in
time). Closing destroys the key of the request's address in the vault (ks_privacy.vault).
"""

from __future__ import annotations

import enum


class RequestStatus(enum.StrEnum):
    OPEN = "open"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    FAILED = "failed"
    COMPLETED = "completed"
    NO_DATA_FOUND = "no_data_found"
    REJECTED = "rejected"
    REFUSED = "refused"
    TIMED_OUT = "timed_out"

    @property
    def closed(self) -> bool:
        return self in CLOSED


CLOSED = frozenset(
    {
        RequestStatus.COMPLETED,
        RequestStatus.NO_DATA_FOUND,
        RequestStatus.REJECTED,
        RequestStatus.REFUSED,
        RequestStatus.TIMED_OUT,
    }
)
ALL = tuple(RequestStatus)
