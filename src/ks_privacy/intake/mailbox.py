"""The privacy mailbox over IMAP, through Airflow's IMAP provider (`ImapHook`, connection
`ks_privacy_mailbox`): list messages by key, read one, replace one by a copy without its
attachments, delete one. Messages are read with BODY.PEEK, so what ops have not read stays
unread in their mail client. IMAP's own errors are re-raised without their text: a server
may quote the mailbox's content in them.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from ks_privacy.intake.message import message_key

CONN_ID = "ks_privacy_mailbox"
_FETCH_HEAD = "(UID RFC822.SIZE INTERNALDATE FLAGS BODY.PEEK[HEADER])"


class MailboxError(RuntimeError):
    """The IMAP server refused an operation (the text names the operation, not the message)."""


@dataclass(frozen=True)
class Listed:
    uid: int
    key: str
    size: int
    internal_date: datetime | None
    flags: tuple[str, ...]


def _ok(result: tuple, what: str):
    status, data = result
    if status != "OK":
        raise MailboxError(f"IMAP {what} was refused ({status})")
    return data


class Mailbox:
    """One folder of the mailbox; use as a context manager (logs in, selects, logs out)."""

    def __init__(self, folder: str = "INBOX", conn_id: str = CONN_ID):
        self.folder, self.conn_id = folder, conn_id
        self.client: imaplib.IMAP4 | None = None
        self.uidvalidity = 0

    def __enter__(self) -> Mailbox:
        from airflow.providers.imap.hooks.imap import ImapHook

        try:
            self.client = ImapHook(imap_conn_id=self.conn_id).get_conn().mail_client
            _ok(self.client.select(self._quoted(), readonly=False), "SELECT")
            _, validity = self.client.response("UIDVALIDITY")
            self.uidvalidity = int(validity[0]) if validity and validity[0] else 0
        except (imaplib.IMAP4.error, OSError) as exc:
            raise MailboxError(
                f"the mailbox (connection {self.conn_id}) cannot be opened: {type(exc).__name__}"
            ) from None
        return self

    def __exit__(self, *exc) -> None:
        if self.client is not None:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                self.client.logout()

    def _quoted(self) -> str:
        return '"' + self.folder.replace("\\", "\\\\").replace('"', '\\"') + '"'

    def _uid(self, command: str, *args) -> list:
        try:
            return _ok(self.client.uid(command, *args), f"UID {command}")
        except imaplib.IMAP4.error as exc:
            raise MailboxError(f"IMAP UID {command} failed ({type(exc).__name__})") from None

    def listing(self) -> Iterator[Listed]:
        """Every message not marked deleted: its key, size and arrival, headers only."""
        data = self._uid("SEARCH", None, "UNDELETED")
        uids = [int(u) for u in (data[0] or b"").split()]
        for start in range(0, len(uids), 200):
            chunk = ",".join(str(u) for u in uids[start : start + 200])
            yield from self._parse_heads(self._uid("FETCH", chunk, _FETCH_HEAD))

    def head(self, uid: int) -> Listed | None:
        found = list(self._parse_heads(self._uid("FETCH", str(uid), _FETCH_HEAD)))
        return found[0] if found else None

    @staticmethod
    def _parse_heads(data: list) -> Iterator[Listed]:
        for item in data:
            if not isinstance(item, tuple):
                continue
            meta, header = item[0].decode("ascii", "replace"), item[1]
            uid = re.search(r"UID (\d+)", meta)
            size = re.search(r"RFC822\.SIZE (\d+)", meta)
            flags = re.search(r"FLAGS \(([^)]*)\)", meta)
            stamp = re.search(r'INTERNALDATE "[^"]+"', meta)
            when = None
            if stamp:
                parsed = imaplib.Internaldate2tuple(stamp.group(0).encode())
                when = datetime.fromtimestamp(time.mktime(parsed), UTC) if parsed else None
            if uid:
                yield Listed(
                    uid=int(uid.group(1)),
                    key=message_key(header),
                    size=int(size.group(1)) if size else 0,
                    internal_date=when,
                    flags=tuple(flags.group(1).split()) if flags else (),
                )

    def read(self, uid: int) -> bytes:
        """The whole message, without marking it read."""
        for item in self._uid("FETCH", str(uid), "(BODY.PEEK[])"):
            if isinstance(item, tuple):
                return item[1]
        raise MailboxError(f"message uid {uid} is gone from the mailbox")

    def find(self, key: str, uid_hint: int | None = None, validity: int | None = None) -> Listed:
        """The message with this key: at its recorded uid if the folder kept its uids, else by
        reading every header. Raises MailboxError when it is not there."""
        if uid_hint and validity == self.uidvalidity:
            found = self.head(uid_hint)
            if found and found.key == key:
                return found
        for listed in self.listing():
            if listed.key == key:
                return listed
        raise MailboxError("the message is no longer in the mailbox folder")

    def append(self, raw: bytes, flags: tuple[str, ...], when: datetime | None) -> None:
        keep = " ".join(f for f in flags if f.lower() not in ("\\recent", "\\deleted"))
        stamp = imaplib.Time2Internaldate(when) if when else None
        try:
            _ok(self.client.append(self._quoted(), f"({keep})", stamp, raw), "APPEND")
        except imaplib.IMAP4.error as exc:
            raise MailboxError(f"IMAP APPEND failed ({type(exc).__name__})") from None

    def delete(self, uid: int) -> None:
        """Mark deleted and expunge (only this message where the server has UIDPLUS)."""
        self._uid("STORE", str(uid), "+FLAGS.SILENT", "(\\Deleted)")
        try:
            if "UIDPLUS" in self.client.capabilities:
                _ok(self.client.uid("EXPUNGE", str(uid)), "UID EXPUNGE")
            else:
                _ok(self.client.expunge(), "EXPUNGE")
        except imaplib.IMAP4.error as exc:
            raise MailboxError(f"IMAP EXPUNGE failed ({type(exc).__name__})") from None
