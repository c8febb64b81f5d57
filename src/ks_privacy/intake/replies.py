"""What the sender of a request hears from us, Dutch and English in one message: the
acknowledgement (the reference and the date we answer by) and, when nobody could confirm the
identity in time, the closing reply. Sent over Airflow's SMTP connection (the one `ks_people`
names for e-mail). The texts carry the reference and dates only, not the person's name or
their request's wording; a refused delivery is re-raised without the server's text (an SMTP
refusal quotes the address).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date

KIND_NL = {
    "access": "inzage in (en een kopie van) je gegevens",
    "erasure": "verwijdering van je gegevens",
    "rectification": "correctie van je gegevens",
    "consent": "intrekken van je toestemming",
}
KIND_EN = {
    "access": "access to (and a copy of) your data",
    "erasure": "erasure of your data",
    "rectification": "rectification of your data",
    "consent": "withdrawal of your consent",
}


class ReplyFailed(RuntimeError):
    """The SMTP server did not take the reply."""


@dataclass(frozen=True)
class Reply:
    subject: str
    paragraphs: tuple[str, ...]

    def html(self) -> str:
        return (
            "<html><body>"
            + "".join(f"<p>{html.escape(p)}</p>" for p in self.paragraphs)
            + "</body></html>"
        )


def acknowledgement(ref: str, kind: str, received_on: date, due_on: date, id_copy: bool) -> Reply:
    id_nl = (
        "We controleren je identiteit met de kopie van je identiteitsbewijs die je meestuurde; "
        "daarna verwijderen we die kopie."
        if id_copy
        else "Stuur ons nog een kopie van je identiteitsbewijs (met pasfoto, MRZ, documentnummer "
        "en BSN afgeschermd), als antwoord op deze e-mail: zonder kunnen we je identiteit niet "
        "controleren."
    )
    id_en = (
        "We check your identity with the copy of your ID you sent, then delete that copy."
        if id_copy
        else "Please reply with a copy of your ID (photo, MRZ, document number and BSN blacked "
        "out): without it we cannot check your identity."
    )
    return Reply(
        f"Ontvangen: je privacyverzoek {ref} / Received: your privacy request {ref}",
        (
            f"We hebben je verzoek om {KIND_NL[kind]} ontvangen op {received_on.isoformat()}. "
            f"Je referentie is {ref}. We beantwoorden het uiterlijk op {due_on.isoformat()} "
            "(binnen vier weken na ontvangst).",
            id_nl,
            f"We received your request for {KIND_EN[kind]} on {received_on.isoformat()}. Your "
            f"reference is {ref}. We will answer it by {due_on.isoformat()} (within four weeks "
            "of receipt).",
            id_en,
            "KlantenScoren",
        ),
    )


def not_verified(ref: str, received_on: date) -> Reply:
    return Reply(
        f"Je privacyverzoek {ref} / Your privacy request {ref}",
        (
            f"We konden je identiteit voor je verzoek {ref} van {received_on.isoformat()} niet "
            "vaststellen, en hebben het daarom gesloten zonder je gegevens te gebruiken of te "
            "wijzigen. Stuur een nieuw verzoek met een kopie van je identiteitsbewijs (pasfoto, "
            "MRZ, documentnummer en BSN afgeschermd) als je het opnieuw wilt indienen.",
            f"We could not confirm your identity for your request {ref} of "
            f"{received_on.isoformat()}, and have closed it without using or changing your "
            "data. Send a new request with a copy of your ID (photo, MRZ, document number and "
            "BSN blacked out) if you want to ask again.",
            "KlantenScoren",
        ),
    )


def send(reply: Reply, to: str, conn_id: str, from_email: str | None = None) -> None:
    """Send one reply to one address over the Airflow SMTP connection `conn_id`."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    try:
        with SmtpHook(smtp_conn_id=conn_id) as hook:
            hook.send_email_smtp(
                to=[to],
                subject=reply.subject,
                html_content=reply.html(),
                from_email=from_email,
                custom_headers={"Auto-Submitted": "auto-replied"},
            )
    except Exception as exc:  # the server's text may quote the address: not passed on
        raise ReplyFailed(
            f"the reply was not delivered over {conn_id} ({type(exc).__name__})"
        ) from None
