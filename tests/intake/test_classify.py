"""What a message asks for, from its wording and headers (pure: no servers)."""

from __future__ import annotations

from datetime import date

import pytest

from ks_privacy.intake.classify import classify
from ks_privacy.intake.idcopy import without_attachments
from ks_privacy.intake.message import KEY_HEADER, message_key, parse
from tests.intake.mails import seeded


def _text(body: str, sender: str = "Ans <ans@voorbeeld.nl>", **headers) -> bytes:
    extra = "".join(f"{k.replace('_', '-')}: {v}\r\n" for k, v in headers.items())
    return (
        f"From: {sender}\r\nTo: team@voorbeeld.nl\r\nSubject: verzoek\r\n{extra}"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


@pytest.mark.parametrize(
    ("body", "kind", "reason"),
    [
        ("Ik wil graag inzage in mijn gegevens.", "access", "request"),
        ("Please send me an export of my data.", "access", "request"),
        ("Ik beroep me op mijn recht op overdraagbaarheid.", "access", "request"),
        ("Wilt u al mijn gegevens verwijderen?", "erasure", "request"),
        ("Ik wil vergeten worden.", "erasure", "request"),
        ("Please delete everything you hold on me.", "erasure", "request"),
        ("Verwijder mijn gegevens en meld me af.", "erasure", "request"),
        ("Mijn telefoonnummer klopt niet, kunt u het corrigeren?", "rectification", "request"),
        ("Please rectify my address.", "rectification", "request"),
        ("Ik trek mijn toestemming in.", "consent", "request"),
        ("I withdraw my consent for the newsletter.", "consent", "request"),
        ("Ik wil me afmelden.", "consent", "request"),
        ("Mijn zoon is minderjarig en staat in jullie lijst.", "erasure", "minor"),
        ("I am under 16 and signed up by mistake.", "erasure", "minor"),
    ],
)
def test_dutch_and_english_wording(body, kind, reason):
    verdict = classify(parse(_text(body), "k"))
    assert (verdict.kind, verdict.reason, verdict.route) == (kind, reason, None)
    assert verdict.subject_email == "ans@voorbeeld.nl"


@pytest.mark.parametrize(
    ("raw", "route"),
    [
        (_text("Hoe laat zijn jullie open?"), "unclear"),
        (_text("Geef me inzage en corrigeer mijn naam."), "unclear"),
        (_text("Ik maak bezwaar tegen direct marketing."), "objection"),
        (_text("Verwijder mijn gegevens", X_Spam_Flag="YES"), "spam"),
        (_text("Verwijder mijn gegevens", Auto_Submitted="auto-replied"), "auto_reply"),
        (_text("Verwijder mijn gegevens", X_Autoreply="yes"), "auto_reply"),
        (_text("Verwijder mijn gegevens", sender="Ans"), "no_sender"),
        (
            _text("Verwijder mijn gegevens", sender="a@voorbeeld.nl, b@voorbeeld.nl"),
            "several_senders",
        ),
        (_text("Verwijder mijn gegevens", sender="*@voorbeeld.nl"), "no_sender"),
        (_text("Verwijder de gegevens van piet@voorbeeld.nl"), "other_person"),
        (_text("Namens mijn vader: verwijder zijn gegevens."), "other_person"),
    ],
)
def test_doubt_goes_to_a_person(raw, route):
    verdict = classify(parse(raw, "k"))
    assert (verdict.kind, verdict.route) == (None, route)


def test_the_seeded_messages():
    for message in seeded():
        if message.name == "too_large":  # never read: its size decides
            continue
        verdict = classify(parse(message.raw, "k"))
        assert verdict.kind == message.kind, message.name
        assert verdict.route == (None if message.kind else message.name), message.name


def test_a_forwarded_request_is_the_originals():
    (forwarded,) = [m for m in seeded() if m.name == "forwarded"]
    item = parse(forwarded.raw, "k")
    assert item.forwarded and item.senders == ("fleur.jansen@voorbeeld.nl",)
    assert item.sent_at.date() == date(2026, 11, 18)


def test_the_copy_without_the_id_copy_keeps_text_and_key():
    (access,) = [m for m in seeded() if m.name == "access_nl"]
    key = message_key(access.raw.split(b"\n\n", 1)[0])
    copy, removed = without_attachments(access.raw, key, date(2026, 11, 26))
    assert removed == 1 and b"%PDF" not in copy and b"application/pdf" not in copy
    assert f"{KEY_HEADER}: {key}".encode() in copy
    assert message_key(copy.split(b"\r\n\r\n", 1)[0]) == key
    item = parse(copy, key)
    assert "inzage" in item.text and not item.id_copy


def test_a_forged_key_header_does_not_make_a_message_another_one():
    """A sender who copies our key header into a new message is not skipped as handled: a
    message with a Message-ID is known by it."""
    (access,) = [m for m in seeded() if m.name == "access_nl"]
    handled = message_key(access.raw.split(b"\n\n", 1)[0])
    forged = (
        f"From: someone@voorbeeld.nl\r\nMessage-ID: <new-123@voorbeeld.nl>\r\n"
        f"{KEY_HEADER}: {handled}\r\nSubject: inzage\r\n"
    ).encode()
    assert message_key(forged) != handled
