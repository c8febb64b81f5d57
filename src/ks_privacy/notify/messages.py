"""Every message the suite sends, built from counts, request references, task ids and links only.

Pure functions, no IO: a message cannot carry a personal value because none is ever handed to
them, and `Message` refuses anything that looks like an address as a second line of defence.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

PREFIX = "[ks-privacy-ops]"


@dataclass(frozen=True)
class Message:
    subject: str
    lines: tuple[str, ...]
    link: str | None = None

    def __post_init__(self):
        for text in (self.subject, *self.lines):
            if "@" in text:
                raise ValueError(
                    "a notification must not carry an address; messages hold counts, "
                    "references and links only"
                )

    def text(self) -> str:
        """Plain text: the chat channel's message (Slack and Mattermost link a bare URL)."""
        parts = [f"*{self.subject}*", *self.lines]
        if self.link:
            parts.append(self.link)
        return "\n".join(parts)

    def html(self) -> str:
        """The e-mail body."""
        body = "".join(f"<p>{html.escape(line)}</p>" for line in self.lines)
        if self.link:
            url = html.escape(self.link, quote=True)
            body += f'<p><a href="{url}">{url}</a></p>'
        return f"<html><body>{body}</body></html>"


def _days(value: float) -> str:
    return f"{value:g} day{'s' if value != 1 else ''}"


def approval_waiting(
    request_ref: str, counts: Mapping[str, Mapping[str, int]], link: str, timeout_days: float
) -> Message:
    lines = [
        f"Erasure request {request_ref} waits for an approver.",
        *(
            f"{source}: {n.get('erase', 0)} to erase, {n.get('hold', 0)} on legal hold (kept)"
            for source, n in sorted(counts.items())
        ),
        "Four eyes: whoever triggered the request or verified the identity cannot approve it.",
        f"Approve or reject within {_days(timeout_days)} in Airflow's Required actions:",
    ]
    return Message(f"{PREFIX} Approval waits: erasure {request_ref}", tuple(lines), link)


def manual_step_waiting(
    source: str, records: int, dag_id: str, run_id: str, link: str, timeout_days: float
) -> Message:
    lines = [
        f"{dag_id} (run {run_id}) waits for a person: {source} has no delete API.",
        f"Delete the {records} listed records in the {source} dashboard, then confirm within "
        f"{_days(timeout_days)} in Airflow's Required actions (the record ids are listed there):",
    ]
    return Message(f"{PREFIX} {source}: {records} records to delete by hand", tuple(lines), link)


def guard_review(
    dag_id: str, run_id: str, tripped: Mapping[str, Mapping[str, int]], link: str
) -> Message:
    lines = [
        f"{dag_id} (run {run_id}) stopped before deleting: the plan looked implausibly large.",
        *(
            f"{source}: plan acts on {n.get('planned', 0)} of {n.get('total', 0)} records"
            for source, n in sorted(tripped.items())
        ),
        "Nothing was deleted. Review the plan (table ks_plan of this run); if it is right, "
        "trigger the DAG again with param override_guard=true.",
    ]
    return Message(f"{PREFIX} Guard review waits: {', '.join(sorted(tripped))}", tuple(lines), link)


def run_failed(
    dag_id: str, run_id: str, tasks: Sequence[str], complete: bool, reason: str, link: str
) -> Message:
    if not tasks:
        named = "The run page shows which tasks failed."
    elif complete:
        named = f"Failed tasks: {', '.join(tasks)}."
    else:
        named = f"Last failed task: {', '.join(tasks)} (the run page shows all)."
    lines = [
        f"{dag_id} run {run_id} failed ({reason}).",
        named,
        "The task logs say why; nothing in this message names a person.",
    ]
    return Message(f"{PREFIX} Run failed: {dag_id}", tuple(lines), link)


def step_timed_out(what: str, dag_id: str, run_id: str, ref: str | None, days: float, link: str):
    about = f" for {ref}" if ref else ""
    lines = [
        f"Nobody answered the {what}{about} within {_days(days)}: it ended as timed_out "
        "evidence and nothing was changed by it.",
        f"{dag_id} run {run_id}: trigger the request again or clear the task to ask again.",
    ]
    return Message(f"{PREFIX} Timed out: {what}{about}", tuple(lines), link)


def deadlines(
    due_soon: Sequence[tuple[str, date]],
    overdue: Sequence[tuple[str, date, int]],
    warning_days: int,
    link: str,
) -> Message:
    lines = [f"{ref}: due {due.isoformat()}, {warning_days} days left" for ref, due in due_soon] + [
        f"{ref}: due {due.isoformat()}, OVERDUE by {late} days" for ref, due, late in overdue
    ]
    subject = f"{PREFIX} Request deadlines: {len(overdue)} overdue, {len(due_soon)} due in " + (
        f"{warning_days} days"
    )
    intro = "Data-subject requests must be answered within four weeks of receipt:"
    return Message(subject, (intro, *lines), link)


@dataclass(frozen=True)
class DigestFigures:
    start: date
    end: date
    per_source: Mapping[str, Mapping[str, int]]  # source -> erased / redacted / held
    requests: Mapping[str, int]  # open / closed / late
    chain: str  # the chain check's one-line summary (length and head)


def digest(figures: DigestFigures, link: str) -> Message:
    lines = [f"Week {figures.start.isoformat()} to {figures.end.isoformat()}."]
    for source, n in sorted(figures.per_source.items()):
        lines.append(
            f"{source}: {n.get('erased', 0)} erased, {n.get('redacted', 0)} redacted, "
            f"{n.get('held', 0)} held"
        )
    if not figures.per_source:
        lines.append("No records were erased, redacted or held.")
    r = figures.requests
    lines.append(
        f"Requests: {r.get('open', 0)} open, {r.get('closed', 0)} closed this week, "
        f"{r.get('late', 0)} late."
    )
    lines.append(figures.chain)
    return Message(f"{PREFIX} Weekly privacy digest {figures.end.isoformat()}", tuple(lines), link)


ROUTE_REASONS = {
    "spam": "marked as spam",
    "auto_reply": "an automatic reply",
    "malformed": "too broken to read reliably",
    "no_sender": "no usable sender address",
    "several_senders": "several sender addresses",
    "other_person": "names someone other than its sender (check their right to ask)",
    "objection": "an objection: a person decides it",
    "unclear": "no single request recognised",
    "too_large": "too large to read automatically",
    "refused": "refused at registration (the register's evidence names the field)",
}


def intake_summary(
    registered: Sequence[tuple[str, str, bool]],
    routed: Sequence[tuple[str, int, str]],
    link: str,
) -> Message:
    """registered: (reference, kind, ID copy attached); routed: (reason, mailbox uid, arrival)."""
    lines = [
        f"{ref}: {kind} request registered from the privacy mailbox, "
        f"{'ID copy attached' if id_copy else 'NO ID copy attached'}; its identity check waits "
        "in ks_request_identity."
        for ref, kind, id_copy in registered
    ] + [
        f"Message uid {uid} (arrived {arrived}) is left in the mailbox for a person: "
        f"{ROUTE_REASONS.get(reason, reason)}."
        for reason, uid, arrived in routed
    ]
    subject = f"{PREFIX} Privacy mailbox: {len(registered)} registered, {len(routed)} for a person"
    return Message(subject, tuple(lines), link)


def identity_waiting(request_ref: str, kind: str, arrived: str, link: str, days: float) -> Message:
    lines = [
        f"{kind} request {request_ref} came by e-mail (arrived {arrived}): check the ID copy "
        "attached to it in the mail client (photo, MRZ, document number and BSN should be "
        "blacked out; do not download or save it).",
        f"Confirm or refuse within {_days(days)} in Airflow's Required actions; then the request "
        "runs and the ID copy is removed from the mailbox:",
    ]
    return Message(f"{PREFIX} Identity check waits: {request_ref}", tuple(lines), link)


def identity_reminder(waiting: Sequence[tuple[str, int]], link: str) -> Message:
    """waiting: (reference, days since registration)."""
    lines = [
        "These requests from the privacy mailbox still wait for an identity check (the four "
        "weeks run from receipt):",
        *(f"{ref}: waiting {days} day{'s' if days != 1 else ''}" for ref, days in waiting),
    ]
    return Message(f"{PREFIX} Reminder: {len(waiting)} identity checks wait", tuple(lines), link)
