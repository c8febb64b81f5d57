"""Deterministic detectors of personal data in text: pure functions (no IO, no clock of their own).

`find_all(text)` returns the spans of every value found, by category:

- email: an address `local@domain.tld` (RFC 5322 atext in the local part);
- iban: an IBAN with its country's length and format and a valid mod-97 check (python-stdnum);
- ip_address: an IPv4 or IPv6 address (the standard library's `ipaddress` decides);
- birth_date: a calendar date (ISO, d-m-yyyy, `14 maart 1985`, `--03-14`) with a birth word in
  the field name or just before it (geboren, geboortedatum, verjaardag, birth, born, DOB);
- phone: a number `phonenumbers` finds possible for the Netherlands or, written with + or 00,
  for any country; a national number written with its leading 0 needs ten digits or more;
- bsn: nine digits (also `1234.56.782`, `123 456 782`) passing the BSN 11-check (python-stdnum);
- address: a Dutch postcode (`1234 AB`: capitals, python-stdnum's rules) with a house number
  near it.

They run in that order, and a span one detector claimed is not looked at by the later ones: the
digits of an IBAN are not also a phone number, a date is not a phone number, a phone number is
not a BSN. Everything is decided from the text (and the field name as a hint) alone, so the same
value is classified the same way in the sweep, the inventory, a test and a benchmark.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import phonenumbers
from phonenumbers import Leniency
from stdnum import iban as stdnum_iban
from stdnum.nl import bsn as stdnum_bsn
from stdnum.nl import postcode as stdnum_postcode

EMAIL, IBAN, IP, BIRTH_DATE, PHONE, BSN, ADDRESS = (
    "email",
    "iban",
    "ip_address",
    "birth_date",
    "phone",
    "bsn",
    "address",
)
CATEGORIES = (EMAIL, IBAN, IP, BIRTH_DATE, PHONE, BSN, ADDRESS)
# Detected categories the statement gives a term: the sweep can keep free text to those terms.
TERM_CATEGORIES = frozenset({EMAIL, PHONE, IP, ADDRESS})
MARKER = "[verwijderd]"
OLDEST_BIRTH_YEARS = 130  # with a reference day, an older "birth date" is not one

_ATEXT = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~\-"
_EMAIL = re.compile(
    rf"(?<![\w{_ATEXT}.])[\w{_ATEXT}](?:[\w{_ATEXT}.]*[\w{_ATEXT}])?"
    r"@(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_][\w-]{0,62}(?![\w-])"
)
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ ]?[A-Za-z0-9]){11,32}")
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{0,4})(?![\w:])"
)
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("januari", "january", "jan"),
            ("februari", "february", "feb"),
            ("maart", "march", "mrt", "mar"),
            ("april", "apr"),
            ("mei", "may"),
            ("juni", "june", "jun"),
            ("juli", "july", "jul"),
            ("augustus", "august", "aug"),
            ("september", "sept", "sep"),
            ("oktober", "october", "okt", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_DATES = (
    ("ymd", re.compile(r"(?<![\w-])(\d{4})-(\d{1,2})-(\d{1,2})(?![\w-])")),
    ("dmy", re.compile(r"(?<![\w./-])(\d{1,2})([-/.])(\d{1,2})\2(\d{4})(?![\w./-])")),
    (
        "d month y",
        re.compile(
            rf"(?<!\d)(\d{{1,2}})\.?\s+({'|'.join(sorted(_MONTHS, key=len, reverse=True))})\.?"
            r",?\s+(\d{4})(?!\d)",
            re.IGNORECASE,
        ),
    ),
    ("md", re.compile(r"(?<![\w-])--(\d{2})-(\d{2})(?![\d-])")),
)
_DATE_MARK = {
    "ymd": re.compile(r"\d-\d"),
    "dmy": re.compile(r"\d[-/.]\d"),
    "md": re.compile(r"--\d"),
}
_BIRTH_WORDS = re.compile(
    r"geboren|geboorte|\bgeb\b\.?|verjaardag|jarig|birth|born|\bd\.?o\.?b\b", re.IGNORECASE
)
_BIRTH_CONTEXT = 40  # characters before a date in which a birth word makes it a birth date
_BSN = re.compile(r"(?<![\w+.])(?:\d{4}\.\d{2}\.\d{3}|\d{3}([ .])\d{3}\1\d{3}|\d{9})(?![\w]|\.\d)")
_POSTCODE = re.compile(r"(?<![\w])([1-9]\d{3}) ?([A-Z]{2})(?![\w])")
_HOUSE_NUMBER = re.compile(r"(?<![\w.,:/-])[1-9]\d{0,4}(?:[ -]?[A-Za-z](?![A-Za-z]))?(?![\w])")
_BEFORE_POSTCODE, _AFTER_POSTCODE = 60, 15  # where a house number goes with a postcode
_WORD_BEFORE = re.compile(r"((?:[A-Z'][\w'.-]*|van|de|der|den|het|ten|ter|'t)\s+)$")
_WORD_AFTER = re.compile(r"(\s+(?:[A-Z]|'s)[\w'-]*)")
_ADDRESS_WORDS = 4  # street-name words before the number, town words after the postcode
_ANY = re.compile(r"[\d@:]")  # every detector needs a digit, an @ or a colon (IPv6)
_DIGITS = re.compile(r"\d")
# where a phone number may be: a run of digits and separators that starts as one dials, not
# glued to letters (digits inside an id or a hash are no phone number)
_PHONE_CANDIDATE = re.compile(r"(?<![\w+])\(?(?:\+|0)[\d()./ -]{5,28}\d(?![\w])")
_MIN_IBAN_DIGITS = 4  # check digits and at least two in any country's account number
_MIN_PHONE_DIGITS = 7  # the shortest international numbers (Tokelau: +690 7290)
_NATIONAL_PHONE_DIGITS = 10  # 0 + nine: a Dutch number written nationally


@dataclass(frozen=True, slots=True)
class Match:
    category: str
    start: int
    end: int


class _Spans:
    """The spans found so far; a later detector only takes what no earlier one claimed."""

    def __init__(self) -> None:
        self.matches: list[Match] = []
        self._taken: list[tuple[int, int]] = []

    def free(self, start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in self._taken)

    def take(self, category: str | None, start: int, end: int) -> None:
        self._taken.append((start, end))
        if category is not None:
            self.matches.append(Match(category, start, end))


def _emails(text: str, spans: _Spans) -> None:
    for m in _EMAIL.finditer(text):
        if spans.free(*m.span()):
            spans.take(EMAIL, *m.span())


def _ibans(text: str, spans: _Spans) -> None:
    for m in _IBAN.finditer(text):
        positions = [m.start() + i for i, ch in enumerate(m.group()) if ch != " "]
        compact = m.group().replace(" ", "").upper()
        for length in range(min(len(compact), 34), 14, -1):
            end = positions[length - 1] + 1
            if end < len(text) and text[end].isalnum():
                continue  # an IBAN ends where its word ends
            if stdnum_iban.is_valid(compact[:length]) and spans.free(m.start(), end):
                spans.take(IBAN, m.start(), end)
                break


def _ips(text: str, spans: _Spans) -> None:
    for pattern, kind in ((_IPV4, ipaddress.IPv4Address), (_IPV6, ipaddress.IPv6Address)):
        for m in pattern.finditer(text):
            try:
                kind(m.group())
            except ValueError:
                continue
            if spans.free(*m.span()):
                spans.take(IP, *m.span())


def _calendar_date(kind: str, groups: tuple[str, ...]) -> date | None:
    try:
        if kind == "ymd":
            return date(int(groups[0]), int(groups[1]), int(groups[2]))
        if kind == "dmy":
            return date(int(groups[3]), int(groups[2]), int(groups[0]))
        if kind == "d month y":
            return date(int(groups[2]), _MONTHS[groups[1].lower()], int(groups[0]))
        return date(2000, int(groups[0]), int(groups[1]))  # --MM-DD: a birthday without a year
    except ValueError:
        return None


def _plausible_birth(day: date, kind: str, today: date | None) -> bool:
    if today is None or kind == "md":
        return True
    return today.year - OLDEST_BIRTH_YEARS <= day.year and day <= today


def _dates(text: str, spans: _Spans, hint: str, today: date | None) -> None:
    """Dates are claimed whatever they are (so their digits are not read as a phone number or a
    BSN); a date is a birth date when a birth word is in the field name or just before it."""
    hinted = bool(_BIRTH_WORDS.search(hint))
    for kind, pattern in _DATES:
        if kind != "d month y" and not _DATE_MARK[kind].search(text):
            continue  # no separator of this form: no such date (cheaper than the expression)
        for m in pattern.finditer(text):
            day = _calendar_date(kind, m.groups())
            if day is None or not spans.free(*m.span()):
                continue
            before = text[max(0, m.start() - _BIRTH_CONTEXT) : m.start()]
            is_birth = (hinted or _BIRTH_WORDS.search(before)) and _plausible_birth(
                day, kind, today
            )
            spans.take(BIRTH_DATE if is_birth else None, *m.span())


def _dialable(raw: str, digits: str) -> bool:
    """Written as a number one dials: international (+ or 00) or Dutch national (0 + nine)."""
    if raw.startswith("+"):
        return len(digits) >= _MIN_PHONE_DIGITS
    if raw.startswith("00"):  # 00 is the international prefix: 00 + country + number
        # nine digits that pass the 11-check are a BSN (which may start with zeros)
        return len(digits) >= _MIN_PHONE_DIGITS + 2 and not stdnum_bsn.is_valid(digits)
    return raw.startswith("0") and len(digits) >= _NATIONAL_PHONE_DIGITS


def _dutch(raw: str, digits: str) -> bool:
    """The common case, decided without parsing: a Dutch number (0 or +31/0031, then nine
    digits not starting with 0), which `phonenumbers` finds possible for the Netherlands."""
    if raw.startswith("+"):
        return len(digits) == 11 and digits.startswith("31") and digits[2] != "0"
    if raw.startswith("00"):
        return len(digits) == 13 and digits.startswith("0031") and digits[4] != "0"
    return len(digits) == 10 and digits[1] != "0"


def _phones(text: str, spans: _Spans) -> None:
    """Phone-like runs (starting with +, 0 or "(0") are taken as they are when they are a plain
    Dutch number; anything else is left to `phonenumbers` (possible numbers, any country)."""
    for candidate in _PHONE_CANDIDATE.finditer(text):
        if not spans.free(*candidate.span()):
            continue
        raw = candidate.group().lstrip("(")
        digits = "".join(_DIGITS.findall(raw))
        if _dutch(raw, digits):
            spans.take(PHONE, *candidate.span())
            continue
        offset = candidate.start()
        for m in phonenumbers.PhoneNumberMatcher(
            candidate.group(), "NL", leniency=Leniency.POSSIBLE
        ):
            start, end = offset + m.start, offset + m.end
            found = m.raw_string.lstrip("(")
            if _dialable(found, "".join(_DIGITS.findall(found))) and spans.free(start, end):
                spans.take(PHONE, start, end)


def _bsns(text: str, spans: _Spans) -> None:
    for m in _BSN.finditer(text):
        if stdnum_bsn.is_valid(m.group()) and spans.free(*m.span()):
            spans.take(BSN, *m.span())


def _addresses(text: str, spans: _Spans) -> None:
    """A postcode with a house number within a street's length before it (or just after it).
    The span reaches over the street name before the number and the town after the postcode, so
    redacting it leaves no half an address."""
    for m in _POSTCODE.finditer(text):
        if not spans.free(*m.span()) or not stdnum_postcode.is_valid(f"{m[1]} {m[2]}"):
            continue
        number = _house_number(text, spans, m.start(), m.end())
        if number is None:
            continue
        start, end = min(number[0], m.start()), max(number[1], m.end())
        for _ in range(_ADDRESS_WORDS):
            if not (word := _WORD_BEFORE.search(text, 0, start)):
                break
            start = word.start(1)
        for _ in range(_ADDRESS_WORDS):
            if not (word := _WORD_AFTER.match(text, end)):
                break
            end = word.end(1)
        if spans.free(start, end):
            spans.take(ADDRESS, start, end)


def _house_number(text: str, spans: _Spans, start: int, end: int) -> tuple[int, int] | None:
    """The house number nearest before the postcode (`Straat 12, 1234 AB`), else the first just
    after it (`1234 AB 12`)."""
    before = [
        n.span()
        for n in _HOUSE_NUMBER.finditer(text, max(0, start - _BEFORE_POSTCODE), start)
        if spans.free(*n.span())
    ]
    if before:
        return before[-1]
    after = [
        n.span()
        for n in _HOUSE_NUMBER.finditer(text, end, end + _AFTER_POSTCODE)
        if spans.free(*n.span())
    ]
    return after[0] if after else None


def find_all(text: str, hint: str = "", today: date | None = None) -> list[Match]:
    """Every value of personal data in `text`, in text order. `hint` is the field's name (a
    birth word there makes its dates birth dates); `today` (the run's reference day) keeps
    future and impossibly old dates from counting as birth dates."""
    if not text or not _ANY.search(text):
        return []
    digits = len(_DIGITS.findall(text))
    spans = _Spans()
    # each detector only where what it looks for can be (the cheap checks keep a name or an
    # e-mail address from going through every expression)
    if "@" in text:
        _emails(text, spans)
    if digits >= _MIN_IBAN_DIGITS:
        _ibans(text, spans)
    if "." in text or ":" in text:
        _ips(text, spans)
    if digits >= 4:
        _dates(text, spans, hint, today)
    if digits >= _MIN_PHONE_DIGITS:
        _phones(text, spans)
    if digits >= 9:
        _bsns(text, spans)
    if digits >= 5:
        _addresses(text, spans)
    return sorted(spans.matches, key=lambda m: m.start)


def categories(text: str, hint: str = "", today: date | None = None) -> frozenset[str]:
    """The categories of personal data in `text` (see `find_all`)."""
    return frozenset(m.category for m in find_all(text, hint, today))


def redact(
    text: str, which: Iterable[str], hint: str = "", marker: str = MARKER
) -> tuple[str, int]:
    """`text` with every value of the given categories replaced by `marker`, and how many were
    replaced. The rest of the text stays as it was."""
    wanted = set(which)
    found = [m for m in find_all(text, hint) if m.category in wanted]
    if not found:
        return text, 0
    parts, position = [], 0
    for m in found:
        parts += [text[position : m.start], marker]
        position = m.end
    parts.append(text[position:])
    return "".join(parts), len(found)
