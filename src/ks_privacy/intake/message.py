"""One message from the privacy mailbox, read as a mail client would (pure, no IO): who sent it,
when, its text for classification, whether it carries an ID copy, and what marks it as an
auto-reply or spam. A forwarded request is read as the original: its sender and its date.

Everything here is personal data and stays in the task's memory: the intake logs, stores and
notifies only the message key (a hash), the outcome and counts.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.errors import MessageDefect
from email.message import EmailMessage, Message
from email.utils import getaddresses, parsedate_to_datetime

KEY_HEADER = "X-KS-Intake-Key"  # on the copy without the ID copy: the same message, the same key
ID_COPY_TYPES = ("image/", "application/pdf")
_FORWARD_MARK = re.compile(
    r"^-{2,}\s*(forwarded message|doorgestuurd bericht|original message|oorspronkelijk bericht)"
    r"\s*-{2,}\s*$",
    re.I | re.M,
)
_HEADER_LINE = re.compile(r"^(from|van|date|datum|verzonden|sent)\s*:\s*(.+)$", re.I)
# defects after which the structure, and so what the person sent, cannot be trusted
_SERIOUS_DEFECTS = (
    "StartBoundaryNotFoundDefect",
    "CloseBoundaryNotFoundDefect",
    "MultipartInvariantViolationDefect",
    "NoBoundaryInMultipartDefect",
    "MissingHeaderBodySeparatorDefect",
    "InvalidBase64CharactersDefect",
    "InvalidBase64PaddingDefect",
)


def message_key(header_bytes: bytes) -> str:
    """The message's identity for the ledger: the sha256 of its Message-ID (a copy we made
    keeps it); without one, our own key header (a copy we made of such a message), else the
    sha256 of its whole header block (stable between runs). The Message-ID comes first so a
    sender who writes our key header into a message with a Message-ID cannot pass it off as
    another, already handled one."""
    parsed = message_from_bytes(header_bytes, policy=policy.compat32)
    mid = (parsed.get("Message-ID") or "").strip().strip("<>").strip()
    if mid:
        return hashlib.sha256(f"message-id:{mid}".encode()).hexdigest()
    own = (parsed.get(KEY_HEADER) or "").strip()
    if re.fullmatch(r"[0-9a-f]{64}", own):
        return own
    return hashlib.sha256(b"headers:" + header_bytes.strip()).hexdigest()


@dataclass(frozen=True)
class Incoming:
    key: str
    senders: tuple[str, ...] = field(repr=False)  # the From addresses (the original's, forwarded)
    sent_at: datetime | None  # the Date header (the original's, forwarded), aware
    text: str = field(repr=False)  # subject and body text, for classification only
    recipients: tuple[str, ...] = field(repr=False)  # To/Cc: our own mailbox addresses
    id_copy: bool  # an image or PDF is attached
    attachments: int
    auto_reply: bool
    spam: bool
    forwarded: bool
    malformed: bool


def _addresses(values: list[str]) -> tuple[str, ...]:
    return tuple(addr.strip() for _, addr in getaddresses(values) if addr and addr.strip())


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def _part_text(part: Message) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):  # an unknown charset, a broken encoding
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", "replace")
    if not isinstance(content, str):
        return ""
    if part.get_content_subtype() == "html":
        content = html.unescape(re.sub(r"<[^>]+>", " ", content))
    return content


def _texts(msg: EmailMessage) -> list[str]:
    texts = []
    for part in msg.walk():
        if part.is_multipart() or part.get_content_maintype() != "text":
            continue
        if part.get_content_disposition() == "attachment":
            continue
        texts.append(_part_text(part))
    return texts


def _is_attachment(part: Message) -> bool:
    if part.is_multipart() or part.get_content_type() == "message/rfc822":
        return False
    return part.get_content_disposition() == "attachment" or (
        part.get_content_maintype() not in ("text", "multipart")
    )


def _auto_reply(msg: Message, subject: str) -> bool:
    auto = str(msg.get("Auto-Submitted") or "").strip().lower()
    if auto and auto != "no":
        return True
    if msg.get("X-Autoreply") or msg.get("X-Autorespond") or msg.get("X-Auto-Response-Suppress"):
        return True
    if str(msg.get("Precedence") or "").strip().lower() in ("auto_reply", "bulk", "junk"):
        return True
    lowered = subject.lower()
    return any(
        mark in lowered
        for mark in ("out of office", "automatisch antwoord", "automatic reply", "afwezig")
    )


def _inline_forward(body: str) -> tuple[tuple[str, ...], datetime | None] | None:
    """The original sender and date of a forward pasted into the body, if there is one."""
    mark = _FORWARD_MARK.search(body)
    if not mark:
        return None
    senders: tuple[str, ...] = ()
    sent = None
    for line in body[mark.end() :].splitlines()[:12]:
        found = _HEADER_LINE.match(line.strip().lstrip(">").strip())
        if not found:
            continue
        name, value = found.group(1).lower(), found.group(2)
        if name in ("from", "van") and not senders:
            senders = _addresses([value])
        elif name in ("date", "datum", "verzonden", "sent") and sent is None:
            sent = _date(value)
    return senders, sent


def parse(raw: bytes, key: str) -> Incoming:
    """Read a whole message. Never raises on bad MIME: what cannot be read is `malformed`."""
    msg: EmailMessage = message_from_bytes(raw, policy=policy.default)  # type: ignore[assignment]
    defects: list[MessageDefect] = []
    for part in msg.walk():
        defects += part.defects
    malformed = any(type(d).__name__ in _SERIOUS_DEFECTS for d in defects)
    try:
        subject = str(msg.get("Subject") or "")
        senders = _addresses([str(v) for v in msg.get_all("From", [])])
        recipients = _addresses([str(v) for v in msg.get_all("To", []) + msg.get_all("Cc", [])])
    except (ValueError, IndexError, AttributeError):  # headers too broken to read
        subject, senders, recipients, malformed = "", (), (), True
    sent_at = _date(msg.get("Date"))
    texts = [subject]
    forwarded = False
    attached = [p for p in msg.walk() if _is_attachment(p)]
    for part in msg.walk():
        if part.get_content_type() == "message/rfc822":  # forwarded as an attachment
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            if isinstance(inner, Message):
                forwarded = True
                senders = _addresses([str(v) for v in inner.get_all("From", [])]) or senders
                sent_at = _date(inner.get("Date")) or sent_at
                texts.append(str(inner.get("Subject") or ""))
    try:
        texts += _texts(msg)
    except (LookupError, ValueError, AttributeError):
        malformed = True
    body = "\n".join(texts)
    if not forwarded and (inline := _inline_forward(body)) is not None:
        forwarded = True
        senders = inline[0] or senders
        sent_at = inline[1] or sent_at
    return Incoming(
        key=key,
        senders=senders,
        sent_at=sent_at,
        text=body,
        recipients=recipients,
        id_copy=any(p.get_content_type().startswith(ID_COPY_TYPES) for p in attached),
        attachments=len(attached),
        auto_reply=_auto_reply(msg, subject),
        spam=str(msg.get("X-Spam-Flag") or "").strip().upper() == "YES",
        forwarded=forwarded,
        malformed=malformed,
    )
