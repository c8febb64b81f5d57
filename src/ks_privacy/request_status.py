"""The statuses a data-subject request moves through: one set for the register, the auditors'
checks, the tasks and the human-loop steps, so none of them meets a status it does not know.

    open -> awaiting_approval -> approved -> completed        (erasure)
    open -> completed                                          (access, rectification, consent)
    open | awaiting_approval | approved -> failed -> open      (a later run resumes it)
    awaiting_identity -> open | identity_not_verified          (a request that came by e-mail)

A request closes as completed, no_data_found (the address matched nobody anywhere), rejected
(a person decided against it at approval), refused (it cannot be carried out as asked, e.g. a
new e-mail address that belongs to someone else) or timed_out (a human step was not answered in
time) or identity_not_verified (a request from the mailbox whose ID copy nobody confirmed in
time: ks_privacy.intake). Closing destroys the key of the request's address in the vault
(ks_privacy.vault).
"""

from __future__ import annotations

import enum


class RequestStatus(enum.StrEnum):
    AWAITING_IDENTITY = "awaiting_identity"  # registered from the mailbox, ID not yet checked
    OPEN = "open"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    FAILED = "failed"
    COMPLETED = "completed"
    NO_DATA_FOUND = "no_data_found"
    REJECTED = "rejected"
    REFUSED = "refused"
    TIMED_OUT = "timed_out"
    IDENTITY_NOT_VERIFIED = "identity_not_verified"

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
        RequestStatus.IDENTITY_NOT_VERIFIED,
    }
)
ALL = tuple(RequestStatus)
