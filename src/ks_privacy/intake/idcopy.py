"""The copy of a request message without its attachments (pure): what replaces the original in
the mailbox once a person confirmed the identity (policy `intake.id_copy: strip`). The text
stays, so the request can still be read; every attachment (the ID copy, whatever else came
with it) becomes a short note saying it was removed and when. The copy carries the original's
key, so the intake knows it as the same message.
"""

from __future__ import annotations

from datetime import date
from email import message_from_bytes, policy
from email.message import Message
from email.mime.text import MIMEText

from ks_privacy.intake.message import KEY_HEADER


def _note(removed_on: date) -> MIMEText:
    text = (
        f"[Bijlage verwijderd op {removed_on.isoformat()} na controle van de identiteit; er is "
        "niets van bewaard.]\n"
        f"[Attachment removed on {removed_on.isoformat()} after the identity was checked; "
        "nothing of it was kept.]\n"
    )
    return MIMEText(text, "plain", "us-ascii")  # ASCII only: readable as stored


def _is_attachment(part: Message) -> bool:
    if part.is_multipart():
        return False
    return part.get_content_disposition() == "attachment" or part.get_content_maintype() not in (
        "text",
        "message",
    )


def _strip(part: Message, removed_on: date) -> int:
    """Replace the attachments under `part` in place; returns how many."""
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        return sum(_strip(m, removed_on) for m in inner) if isinstance(inner, list) else 0
    if not part.is_multipart():
        return 0
    removed = 0
    kept = []
    for child in part.get_payload():
        if _is_attachment(child):
            kept.append(_note(removed_on))
            removed += 1
        else:
            removed += _strip(child, removed_on)
            kept.append(child)
    part.set_payload(kept)
    return removed


def without_attachments(raw: bytes, key: str, removed_on: date) -> tuple[bytes, int]:
    """(the copy, how many attachments it lost)."""
    msg = message_from_bytes(raw, policy=policy.compat32)
    if not msg.is_multipart() and _is_attachment(msg):  # the whole message is the attachment
        body = _note(removed_on)
        for name in ("Content-Type", "Content-Transfer-Encoding", "Content-Disposition"):
            del msg[name]
        msg["Content-Type"] = body["Content-Type"]
        msg["Content-Transfer-Encoding"] = body["Content-Transfer-Encoding"]
        msg.set_payload(body.get_payload())
        removed = 1
    else:
        removed = _strip(msg, removed_on)
    del msg[KEY_HEADER]
    msg[KEY_HEADER] = key
    return msg.as_bytes(policy=policy.compat32.clone(linesep="\r\n", max_line_length=0)), removed
