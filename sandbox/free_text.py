"""Personal data where people type it, for the seed: ActiveCampaign custom fields (a second phone
number in "Mobiel", notes in "Notities"), Google contacts' notes, employers, websites and own
fields, and what visitors type into Tawk chats.

Every personal value put into such a field is returned as a `Planted` so the seed can record it
in `seed_values`: the truth a field-level inventory is checked against. The clean texts hold no
digits, addresses or e-mail addresses, so a detector that flags them is wrong. One
`random.Random` of its own, so the rest of the seed stays the same people with the same values.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sandbox.population import Person, ascii_fold

# (id, title, type, perstag): https://developers.activecampaign.com/reference/retrieve-fields-1
AC_FIELDS = (
    (1, "Bedrijf", "text", "BEDRIJF"),
    (2, "Plaats", "text", "PLAATS"),
    (3, "Mobiel", "text", "MOBIEL"),
    (4, "Notities", "textarea", "NOTITIES"),
)
AC_MOBILE, AC_NOTES = 3, 4
CLEAN_NOTES = (
    "Interesse in het jaarpakket, graag een demo plannen.",
    "Kwam binnen via het webinar over klanttevredenheid.",
    "Beslisser zit bij de directie; eerst offerte sturen.",
    "Wil liever geen telefonisch contact.",
    "Tevreden klant, vraagt om een case study.",
)
CLEAN_BIOGRAPHIES = (
    "Ontmoet op de beurs in Utrecht.",
    "Contactpersoon voor de inkoop van licenties.",
    "Stuurt de facturen door naar de administratie.",
)
JOB_TITLES = ("Directeur", "Inkoper", "Marketingmanager", "Officemanager", "Eigenaar")
TYPED_PHONE = "Mijn nummer is {value}, bel me gerust terug."
TYPED_EMAIL = "Mijn e-mailadres is {value} als jullie de prijzen willen sturen."


@dataclass(frozen=True)
class Planted:
    field: str  # as the inventory names it
    category: str
    value: str


def company_domain(company: str) -> str:
    return f"{ascii_fold(company)[:30] or 'bedrijf'}.nl"


class FreeText:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(f"{seed}-free-text")

    def activecampaign(self, p: Person, company: str) -> list[tuple[int, str, list[Planted]]]:
        """(field id, value, what it plants) for the person's Mobiel and Notities."""
        rand = self.rng.random
        out: list[tuple[int, str, list[Planted]]] = []
        if p.phones and rand() < 0.3:
            phone = p.phones[-1]
            out.append((AC_MOBILE, phone, [Planted("custom:Mobiel", "phone", phone)]))
        if rand() < 0.25:
            roll = rand()
            if roll < 0.3 and p.phones:
                phone = p.phones[0]
                text = f"Liever bellen op {phone} dan mailen."
                out.append((AC_NOTES, text, [Planted("custom:Notities", "phone", phone)]))
            elif roll < 0.5:
                email = f"{ascii_fold(p.first)[:20] or 'info'}@{company_domain(company)}"
                text = f"Offerte ook sturen naar {email} graag."
                out.append((AC_NOTES, text, [Planted("custom:Notities", "email", email)]))
            else:
                out.append((AC_NOTES, self.rng.choice(CLEAN_NOTES), []))
        return out

    def google(self, p: Person, company: str) -> tuple[dict[str, list[dict]], list[Planted]]:
        """Extra person fields (biographies, organizations, urls, userDefined) and what they
        plant."""
        rand = self.rng.random
        fields: dict[str, list[dict]] = {}
        planted: list[Planted] = []
        if rand() < 0.25:
            roll = rand()
            address = p.address
            if roll < 0.25 and p.phones:
                text = f"Tweede nummer: {p.phones[-1]} (alleen overdag)."
                planted.append(Planted("biographies", "phone", p.phones[-1]))
            elif roll < 0.5:
                value = f"{address['street']}, {address['postcode']} {address['city']}"
                text = f"Bezoekadres: {value}."
                planted.append(Planted("biographies", "address", value))
            else:
                text = self.rng.choice(CLEAN_BIOGRAPHIES)
            fields["biographies"] = [{"value": text, "contentType": "TEXT_PLAIN"}]
        if rand() < 0.3:
            fields["organizations"] = [
                {"name": company, "title": self.rng.choice(JOB_TITLES), "type": "work"}
            ]
        if rand() < 0.1:
            fields["urls"] = [{"value": f"https://www.{company_domain(company)}", "type": "work"}]
        if rand() < 0.1:
            fields["userDefined"] = [{"key": "Klantnummer", "value": f"KS-{p.pid:06d}"}]
        return fields, planted

    def tawk_person(self, p: Person, visitor_phone: str | None) -> tuple[str, Planted] | None:
        """A phone number the visitor types although the chat form did not ask for it."""
        if visitor_phone or not p.phones or self.rng.random() >= 0.25:
            return None
        phone = p.phones[0]
        return TYPED_PHONE.format(value=phone), Planted("messages", "phone", phone)

    def tawk_anonymous(self, number: int) -> tuple[str, Planted] | None:
        """An e-mail address an anonymous visitor types into the chat."""
        if self.rng.random() >= 0.4:
            return None
        email = f"bezoeker{number}@{self.rng.choice(('gmail.com', 'hotmail.com', 'ziggo.nl'))}"
        return TYPED_EMAIL.format(value=email), Planted("messages", "email", email)
