"""Real MIME messages as people send them to the privacy mailbox, and what each should become.
The addresses, names and subject lines are the seeded personal values the tests look for
everywhere they must not be."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

TEAM = "team@klantengeneratieexperts.test"
PDF = b"%PDF-1.4\n% an ID copy, blacked out\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200 + b"\xff\xd9"


@dataclass(frozen=True)
class Seeded:
    name: str
    raw: bytes
    arrived: datetime  # the IMAP INTERNALDATE it is appended with
    sender: str | None  # the address the request is registered for, if any
    personal: tuple[str, ...]  # names and subject lines that must not leak
    kind: str | None = None  # registered as; None: left for a person
    received_on: str | None = None
    id_copy: bool = False


def _message(
    sender: str, subject: str, body: str, sent: datetime | None, **headers
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = TEAM
    msg["Subject"] = subject
    if sent is not None:
        msg["Date"] = format_datetime(sent)
    digest = hashlib.sha256(f"{sender}|{subject}".encode()).hexdigest()[:20]
    msg["Message-ID"] = f"<{digest}@mail.voorbeeld.test>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body, cte="quoted-printable")
    return msg


def _at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def seeded() -> list[Seeded]:
    found = []

    # 1. access, Dutch, quoted-printable with diacritics, a PDF ID copy; sent 23:30 UTC on the
    # 24th, which is 00:30 on the 25th in Amsterdam: received on the 25th
    msg = _message(
        "Zoë Çelik <zoe.celik@voorbeeld.nl>",
        "Inzageverzoek van Zoë Çelik",
        "Beste team,\n\nGraag wil ik inzage in alle persoonsgegevens die jullie van mij "
        "verwerken. Mijn identiteitsbewijs (afgeschermd) zit als bijlage bij deze e-mail.\n\n"
        "Met vriendelijke groet,\nZoë Çelik\n",
        _at(2026, 11, 24, 23, 30),
    )
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="id-zoe.pdf")
    found.append(
        Seeded(
            "access_nl",
            msg.as_bytes(),
            _at(2026, 11, 24, 23, 31),
            "zoe.celik@voorbeeld.nl",
            ("Çelik", "Inzageverzoek van"),
            "access",
            "2026-11-25",
            True,
        )
    )

    # 2. erasure, English, a JPEG ID copy, no Date header: the server's arrival time counts
    msg = _message(
        "Bram de Wit <bram.dewit@voorbeeld.nl>",
        "Please remove my details",
        "Hello,\n\nI want you to delete all my personal data (right to erasure). A copy of my "
        "passport is attached.\n\nBram de Wit\n",
        None,
    )
    msg.add_attachment(JPEG, maintype="image", subtype="jpeg", filename="passport.jpg")
    found.append(
        Seeded(
            "erasure_en",
            msg.as_bytes(),
            _at(2026, 11, 20, 10, 0),
            "bram.dewit@voorbeeld.nl",
            ("Bram de Wit", "Please remove my details"),
            "erasure",
            "2026-11-20",
            True,
        )
    )

    # 3. a forwarded request (message/rfc822): the original's sender and date count
    original = _message(
        "Fleur Jansen <fleur.jansen@voorbeeld.nl>",
        "Nieuwsbrief",
        "Hallo, ik wil mijn toestemming intrekken en me afmelden voor de nieuwsbrief. Groet, "
        "Fleur Jansen",
        _at(2026, 11, 18, 9, 15),
    )
    msg = _message(
        "Olga Ops <olga.ops@staff.klantenscoren.test>",
        "Fwd: Nieuwsbrief",
        "Doorgestuurd naar het privacyteam.\n",
        _at(2026, 11, 23, 8, 0),
    )
    msg.add_attachment(original)
    found.append(
        Seeded(
            "forwarded",
            msg.as_bytes(),
            _at(2026, 11, 23, 8, 1),
            "fleur.jansen@voorbeeld.nl",
            ("Fleur Jansen",),
            "consent",
            "2026-11-18",
            False,
        )
    )

    # 4. a report about a minor: erasure with reason minor
    msg = _message(
        "Lotte de Jong <lotte.dejong@voorbeeld.nl>",
        "Inschrijving",
        "Ik ben 14 jaar en heb me ingeschreven voor jullie mails. Mijn ouders willen dat niet.\n",
        _at(2026, 11, 22, 16, 45),
    )
    found.append(
        Seeded(
            "minor",
            msg.as_bytes(),
            _at(2026, 11, 22, 16, 46),
            "lotte.dejong@voorbeeld.nl",
            ("Lotte de Jong",),
            "erasure",
            "2026-11-22",
            False,
        )
    )

    # 5. an auto-reply
    msg = _message(
        "Kees Bakker <kees.bakker@voorbeeld.nl>",
        "Afwezig: uw bericht",
        "Ik ben afwezig tot 1 december en lees mijn e-mail niet. Verwijder dit bericht gerust.\n",
        _at(2026, 11, 21, 7, 0),
        Auto_Submitted="auto-replied",
    )
    found.append(
        Seeded("auto_reply", msg.as_bytes(), _at(2026, 11, 21, 7, 1), None, ("Kees Bakker",))
    )

    # 6. spam
    msg = _message(
        "Lucky Winner <winnaar@loterij.nl>",
        "Delete your debts today",
        "Delete your debts today! Click here.\n",
        _at(2026, 11, 21, 3, 0),
        X_Spam_Flag="YES",
    )
    found.append(Seeded("spam", msg.as_bytes(), _at(2026, 11, 21, 3, 1), None, ("Lucky Winner",)))

    # 7. no usable sender
    msg = _message("undisclosed-recipients:;", "Gegevens", "Verwijder mijn gegevens.\n", None)
    found.append(Seeded("no_sender", msg.as_bytes(), _at(2026, 11, 21, 4, 0), None, ()))

    # 8. several sender addresses
    msg = _message(
        "Jan Twee <jan.twee@voorbeeld.nl>, Els Twee <els.twee@voorbeeld.nl>",
        "Verwijderen",
        "Verwijder onze gegevens alstublieft.\n",
        _at(2026, 11, 21, 5, 0),
    )
    found.append(
        Seeded("several_senders", msg.as_bytes(), _at(2026, 11, 21, 5, 1), None, ("Els Twee",))
    )

    # 9. a huge attachment: over the policy's 20 MB, left for a person without being read
    msg = _message(
        "Huub Groot <huub.groot@voorbeeld.nl>",
        "Mijn gegevens",
        "Verwijder mijn gegevens, mijn ID zit erbij.\n",
        _at(2026, 11, 21, 6, 0),
    )
    msg.add_attachment(os.urandom(21_000_000), maintype="image", subtype="tiff", filename="id.tif")
    found.append(
        Seeded("too_large", msg.as_bytes(), _at(2026, 11, 21, 6, 1), None, ("Huub Groot",))
    )

    # 10. malformed MIME: a multipart whose boundary never comes
    raw = (
        "From: Mia Kapot <mia.kapot@voorbeeld.nl>\r\nTo: " + TEAM + "\r\n"
        "Subject: Verwijder mij\r\nMessage-ID: <kapot-1@mail.voorbeeld.test>\r\n"
        "Date: Sat, 21 Nov 2026 08:00:00 +0100\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="nergens"\r\n\r\n'
        "Verwijder al mijn gegevens.\r\n"
    ).encode()
    found.append(Seeded("malformed", raw, _at(2026, 11, 21, 7, 30), None, ("Mia Kapot",)))

    # 11. a request naming another person
    msg = _message(
        "Piet Vader <piet.vader@voorbeeld.nl>",
        "Gegevens van mijn moeder",
        "Namens mijn moeder wil ik dat jullie haar gegevens verwijderen: an.vader@voorbeeld.nl\n",
        _at(2026, 11, 21, 9, 0),
    )
    found.append(
        Seeded(
            "other_person",
            msg.as_bytes(),
            _at(2026, 11, 21, 9, 1),
            None,
            ("Piet Vader", "an.vader@voorbeeld.nl"),
        )
    )

    # 12. unclear
    msg = _message(
        "Sanne Vraag <sanne.vraag@voorbeeld.nl>",
        "Vraag over de factuur",
        "Hoe laat zijn jullie morgen bereikbaar?\n",
        _at(2026, 11, 21, 10, 0),
    )
    found.append(
        Seeded("unclear", msg.as_bytes(), _at(2026, 11, 21, 10, 1), None, ("Sanne Vraag",))
    )
    return found


def addresses(messages: list[Seeded]) -> list[str]:
    """Every address the messages carry (senders, and the ones named in bodies)."""
    found = {m.sender for m in messages if m.sender}
    found |= {
        "kees.bakker@voorbeeld.nl",
        "winnaar@loterij.nl",
        "jan.twee@voorbeeld.nl",
        "els.twee@voorbeeld.nl",
        "huub.groot@voorbeeld.nl",
        "mia.kapot@voorbeeld.nl",
        "piet.vader@voorbeeld.nl",
        "an.vader@voorbeeld.nl",
        "sanne.vraag@voorbeeld.nl",
    }
    return sorted(found)
