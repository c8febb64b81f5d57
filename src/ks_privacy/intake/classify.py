"""What a message asks for, from Dutch and English wording (pure): the request kind and reason
the register takes, or why a person must look at it instead. Doubt goes to a person: two kinds
asked at once, no kind recognised, an auto-reply, spam, no single usable sender, a message too
broken to read, or one that names someone other than its sender.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ks_privacy.intake.message import Incoming
from ks_privacy.pseudonym import normalise_email
from ks_privacy.request_params import InvalidRequest, check_email

# kind -> wording (accent-folded, lower case; \b word boundaries)
WORDING: dict[str, tuple[str, ...]] = {
    "access": (
        r"inzage",
        r"inzien",
        r"\baccess\b",
        r"\bexport",
        r"overdraagbaar",
        r"portab",
        r"kopie van (al )?mijn (persoons)?gegevens",
        r"copy of (all )?(my|the) (personal )?data",
        r"welke (persoons)?gegevens",
        r"what (personal )?data",
    ),
    "erasure": (
        r"verwijder",
        r"\bwis(sen)?\b",
        r"vergeten",
        r"\berasure\b",
        r"\berase\b",
        r"\bdelete\b",
        r"remove (all )?my (personal )?data",
        r"forgotten",
    ),
    "rectification": (
        r"corrigeer",
        r"corrigeren",
        r"correctie",
        r"wijzig",
        r"aanpassen",
        r"rectif",
        r"correct my",
        r"update my",
    ),
    "consent": (
        r"toestemming\b.{0,40}\bin(trekken|trek)",
        r"trek\b.{0,40}toestemming.{0,40}\bin\b",
        r"intrekken",
        r"withdraw\b.{0,30}consent",
        r"afmelden",
        r"meld .{0,30}\baf\b",
        r"uitschrijven",
        r"unsubscribe",
    ),
    "objection": (r"bezwaar", r"\bobject to\b", r"\bobjection\b", r"\bi object\b"),
}
MINOR = (
    r"minderjarig",
    r"onder de 16",
    r"jonger dan 16",
    r"under (the age of )?16",
    r"younger than 16",
    r"\bminor\b",
    r"\b1[0-5] jaar\b",
    r"\baged? 1[0-5]\b",
)
ON_BEHALF = (
    r"\bnamens\b",
    r"\bon behalf of\b",
    r"\bmijn (moeder|vader|man|vrouw|partner|broer|zus|collega|klant)\b",
    r"\bmy (mother|father|husband|wife|partner|brother|sister|colleague|client)\b",
)
_ADDRESS = re.compile(r"[\w.+'-]+@[\w-]+(\.[\w-]+)+")


@dataclass(frozen=True)
class Verdict:
    """Either a request to register (`kind`, `reason`) or a message for a person (`route`)."""

    kind: str | None = None
    reason: str = "request"
    route: str | None = None  # why a person must look: spam, auto_reply, unclear, ...
    subject_email: str | None = None  # the sender, normalised: the register's subject


def fold(text: str) -> str:
    """Lower case without accents: "Verwijdering" and "verwijdéring" read alike."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _any(patterns, text: str) -> bool:
    return any(re.search(p, text) for p in patterns)


def kinds_asked(text: str) -> set[str]:
    folded = fold(text)
    found = {kind for kind, patterns in WORDING.items() if _any(patterns, folded)}
    if "erasure" in found:  # erasing someone ends their subscriptions too
        found.discard("consent")
    return found


def names_someone_else(item: Incoming, sender: str) -> bool:
    """Another address in the text than the sender's and our own mailbox's, or wording that
    asks on someone else's behalf: a person checks the right to ask first."""
    ours = {normalise_email(a) for a in item.recipients if "@" in a}
    for found in _ADDRESS.finditer(item.text):
        address = normalise_email(found.group(0))
        if address not in ours and address != sender:
            return True
    return _any(ON_BEHALF, fold(item.text))


def classify(item: Incoming) -> Verdict:
    if item.spam:
        return Verdict(route="spam")
    if item.auto_reply:
        return Verdict(route="auto_reply")
    if item.malformed:
        return Verdict(route="malformed")
    if len(item.senders) != 1:
        return Verdict(route="no_sender" if not item.senders else "several_senders")
    try:
        sender = check_email(item.senders[0])
    except InvalidRequest:
        return Verdict(route="no_sender")
    if names_someone_else(item, sender):
        return Verdict(route="other_person")
    folded = fold(item.text)
    if _any(MINOR, folded):
        return Verdict(kind="erasure", reason="minor", subject_email=sender)
    kinds = kinds_asked(item.text)
    if kinds == {"objection"}:
        return Verdict(route="objection")  # no request DAG decides an objection: a person does
    if len(kinds) != 1:
        return Verdict(route="unclear")
    (kind,) = kinds
    return Verdict(kind=kind, subject_email=sender)
