"""The detectors, with generated values: every valid value is found, in any of the ways people
write it and wherever it sits in a sentence; near misses (a BSN failing the 11-check, an IBAN
failing mod-97, a postcode PostNL never gives out, a date without a birth word) are not."""

from __future__ import annotations

import string
from datetime import date

import phonenumbers
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from stdnum import iban as stdnum_iban
from stdnum.nl import bsn as stdnum_bsn

from ks_privacy.discovery import detectors, vocabulary
from ks_privacy.discovery.detectors import categories, find_all, redact

TODAY = date(2026, 11, 25)
BEFORE = st.sampled_from(["", "Zie: ", "Notitie - ", "Graag contact via ", "(", "nummer "])
AFTER = st.sampled_from(["", ".", ", dank je", " graag", ")", "\nGroet, Sanne"])
PHONE_FORMATS = (
    phonenumbers.PhoneNumberFormat.NATIONAL,
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    phonenumbers.PhoneNumberFormat.E164,
)
MOBILE_REGIONS = sorted(
    r
    for r in phonenumbers.SUPPORTED_REGIONS
    if phonenumbers.example_number_for_type(r, phonenumbers.PhoneNumberType.MOBILE)
)


def in_sentence(value: str, before: str, after: str) -> str:
    return f"{before}{value}{after}"


# ---- e-mail, IP ---------------------------------------------------------------------------------


@given(st.emails(), BEFORE, AFTER)
def test_every_email_address_is_found(email, before, after):
    text = in_sentence(email, before, after)
    assert [text[m.start : m.end] for m in find_all(text)] == [email]


@given(st.ip_addresses(), BEFORE, AFTER)
def test_every_ip_address_is_found(ip, before, after):
    found = find_all(in_sentence(str(ip), before, after))
    assert [m.category for m in found] == ["ip_address"]


@given(st.integers(256, 999), st.integers(0, 255))
def test_numbers_that_are_not_ip_addresses_are_not(high, low):
    assert "ip_address" not in categories(f"versie {high}.{low}.{low}.{low}")


# ---- phone --------------------------------------------------------------------------------------


@st.composite
def dutch_numbers(draw) -> phonenumbers.PhoneNumber:
    """Valid Dutch numbers: mobiles (06) and geographic numbers, any digits."""
    national = draw(st.from_regex(r"6[1-58][0-9]{7}|[1-57][0-9]{8}", fullmatch=True))
    number = phonenumbers.parse("0" + national, "NL")
    assume(phonenumbers.is_valid_number(number))
    return number


@given(dutch_numbers(), st.sampled_from(PHONE_FORMATS), BEFORE, AFTER)
@example(phonenumbers.parse("0612345678", "NL"), PHONE_FORMATS[0], "Bel ", " graag")
def test_every_dutch_phone_number_is_found(number, style, before, after):
    written = phonenumbers.format_number(number, style)
    found = find_all(in_sentence(written, before, after))
    assert [m.category for m in found] == ["phone"], written


@given(dutch_numbers(), st.sampled_from(["-", " ", ""]))
def test_dutch_numbers_as_people_type_them_are_found(number, separator):
    national = str(number.national_number)
    typed = f"0{national[:1]}{separator}{national[1:]}"  # 06-12345678, 06 12345678
    assert categories(f"Mijn nummer is {typed}") == {"phone"}


@given(
    st.sampled_from(MOBILE_REGIONS),
    st.sampled_from(PHONE_FORMATS[1:]),
    BEFORE,
    AFTER,
)
def test_every_international_number_in_e164_or_international_form_is_found(
    region, style, before, after
):
    number = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    written = phonenumbers.format_number(number, style)
    assert categories(in_sentence(written, before, after)) == {"phone"}, written


# ---- IBAN ---------------------------------------------------------------------------------------


@st.composite
def ibans(draw) -> str:
    country, bban = draw(
        st.sampled_from(
            [
                ("NL", st.from_regex(r"[A-Z]{4}[0-9]{10}", fullmatch=True)),
                ("DE", st.from_regex(r"[0-9]{18}", fullmatch=True)),
                ("GB", st.from_regex(r"[A-Z]{4}[0-9]{14}", fullmatch=True)),
                ("FR", st.from_regex(r"[0-9]{10}[A-Z0-9]{11}[0-9]{2}", fullmatch=True)),
            ]
        )
    )
    bban = draw(bban)
    value = f"{country}{stdnum_iban.calc_check_digits(country + '00' + bban)}{bban}"
    assume(stdnum_iban.is_valid(value))
    return value


def grouped(value: str) -> str:
    return " ".join(value[i : i + 4] for i in range(0, len(value), 4))


@given(ibans(), st.booleans(), BEFORE, AFTER)
def test_every_valid_iban_is_found(value, spaced, before, after):
    written = grouped(value) if spaced else value
    text = in_sentence(written, before, after)
    found = find_all(text)
    assert [(m.category, text[m.start : m.end]) for m in found] == [("iban", written)]


@given(ibans(), st.data(), st.booleans())
def test_an_iban_failing_mod_97_is_not_an_iban(value, data, spaced):
    position = data.draw(st.integers(4, len(value) - 1))
    assume(value[position].isdigit())
    other = data.draw(st.sampled_from([d for d in string.digits if d != value[position]]))
    broken = value[:position] + other + value[position + 1 :]
    assert not stdnum_iban.is_valid(broken)  # one changed digit always breaks mod-97
    written = grouped(broken) if spaced else broken
    assert "iban" not in categories(f"Rekening {written}")


# ---- BSN ----------------------------------------------------------------------------------------


def with_check_digit(eight: str) -> str | None:
    """The ninth digit that makes `eight` + it pass the BSN 11-check (None if there is none)."""
    total = sum(int(d) * w for d, w in zip(eight, range(9, 1, -1), strict=True))
    last = total % 11
    return None if last == 10 else eight + str(last)


@st.composite
def bsns(draw) -> str:
    value = with_check_digit(draw(st.from_regex(r"[0-9]{8}", fullmatch=True)))
    assume(value is not None and value != "000000000")
    assert stdnum_bsn.is_valid(value)
    return value


@given(bsns(), st.sampled_from(["plain", "dotted", "spaced"]), BEFORE, AFTER)
@example("111222333", "plain", "BSN ", "")
def test_every_valid_bsn_is_found(value, style, before, after):
    written = {
        "plain": value,
        "dotted": f"{value[:4]}.{value[4:6]}.{value[6:]}",
        "spaced": f"{value[:3]} {value[3:6]} {value[6:]}",
    }[style]
    text = in_sentence(written, before, after)
    assert [(m.category, text[m.start : m.end]) for m in find_all(text)] == [("bsn", written)]


@given(bsns(), st.integers(1, 9))
def test_a_number_failing_the_11_check_is_not_a_bsn(value, change):
    broken = value[:8] + str((int(value[8]) + change) % 10)
    assert not stdnum_bsn.is_valid(broken)
    assert "bsn" not in categories(f"nummer {broken}")


def test_a_phone_number_is_not_read_as_a_bsn():
    # nine digits after the country code, and a valid 11-check: still a phone number
    assert categories("+31 111222333") == {"phone"}


# ---- address ------------------------------------------------------------------------------------

STREETS = st.sampled_from(["Dorpsstraat", "Van der Zwaagstraat", "Kerkweg", "Oude Gracht"])
CITIES = st.sampled_from(["Utrecht", "Den Haag", "'s-Hertogenbosch", "Zwolle"])


@st.composite
def postcodes(draw) -> str:
    letters = draw(st.from_regex(r"[A-Z]{2}", fullmatch=True))
    assume(letters not in ("SA", "SD", "SS"))
    return f"{draw(st.integers(1000, 9999))} {letters}"


@given(STREETS, st.integers(1, 9999), st.sampled_from(["", "a", "-2"]), postcodes(), CITIES)
def test_every_address_with_postcode_and_house_number_is_found(street, number, suffix, pc, city):
    for text in (f"{street} {number}{suffix}, {pc} {city}", f"{pc} {number}", f"{pc}\n{number}"):
        assert categories(f"Adres: {text}") == {"address"}, text


@given(postcodes(), CITIES)
def test_a_postcode_without_a_house_number_is_not_an_address(pc, city):
    assert "address" not in categories(f"Ergens in {pc} {city}")
    far = f"Sinds 2019 een trouwe klant, met een kantoor ergens in de buurt van postcode {pc}"
    assert "address" not in categories(far)  # a number, but not near enough to be its house


@pytest.mark.parametrize(
    "token", ["089050704081a807", "3c866193960b8347", "540256365c", "x0612345678", "id111222333"]
)
def test_digits_inside_ids_and_hashes_are_nothing(token):
    assert find_all(f"visitor {token} seen") == []


def test_two_numbers_in_one_run_are_both_found():
    text = "Bel 06-12345678 / 020-1234567 of +32 470 12 34 56"
    assert [text[m.start : m.end] for m in find_all(text)] == [
        "06-12345678",
        "020-1234567",
        "+32 470 12 34 56",
    ]


@given(STREETS, st.integers(1, 500), st.integers(1000, 9999), st.sampled_from(["SA", "SD", "SS"]))
def test_letters_postnl_never_gives_out_are_not_a_postcode(street, number, digits, letters):
    assert "address" not in categories(f"{street} {number}, {digits} {letters}")


# ---- birth dates --------------------------------------------------------------------------------

MONTHS_NL = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
             "september", "oktober", "november", "december"]  # fmt: skip


def written_dates(day: date) -> list[str]:
    return [
        day.isoformat(),
        f"{day.day:02d}-{day.month:02d}-{day.year}",
        f"{day.day}/{day.month}/{day.year}",
        f"{day.day} {MONTHS_NL[day.month - 1]} {day.year}",
    ]


@given(st.dates(date(1900, 1, 1), date(2020, 12, 31)))
def test_a_date_after_a_birth_word_or_in_a_birth_field_is_a_birth_date(day):
    for written in written_dates(day):
        assert categories(f"Geboren op {written}", today=TODAY) == {"birth_date"}, written
        assert categories(written, hint="custom:Geboortedatum", today=TODAY) == {"birth_date"}
    assert categories(f"--{day.month:02d}-{day.day:02d}", hint="birthdays") == {"birth_date"}


@given(st.dates(date(1900, 1, 1), date(2099, 12, 31)))
def test_other_dates_are_no_birth_dates_and_no_phone_numbers(day):
    for written in written_dates(day):
        assert categories(f"Afspraak op {written}", today=TODAY) == frozenset(), written


@given(st.dates(date(2026, 11, 26), date(2099, 12, 31)))
def test_a_future_date_is_no_birth_date(day):
    assert categories(f"geboren {day.isoformat()}", today=TODAY) == frozenset()


# ---- clean text, redaction ----------------------------------------------------------------------


@given(st.text(alphabet=string.ascii_letters + " .,;!?'-éëïöü\n", max_size=200))
def test_text_without_digits_or_at_signs_holds_nothing(text):
    assert find_all(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "Wat kost het pakket voor 5 vestigingen?",
        "Sinds 2019 en 2020 klant, 3 licenties, 12 gebruikers.",
        "Factuur 2026-0042 is betaald.",
        "Klantnummer KS-000123, order 88812.",
        "Om 12:30:45 gebeld.",
        "https://www.jansenbv.nl/contact",
    ],
)
def test_everyday_notes_hold_nothing(text):
    assert find_all(text) == []


@given(dutch_numbers(), st.emails())
@settings(max_examples=50)
def test_redaction_replaces_exactly_the_due_values(number, email):
    phone = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    text = f"Bel {phone} of mail {email}; vrijdag vrij."
    redacted, removed = redact(text, ["phone"])
    assert removed == 1
    assert redacted == f"Bel {detectors.MARKER} of mail {email}; vrijdag vrij."
    assert categories(redacted) == {"email"}


def test_detector_categories_are_the_vocabulary():
    assert set(detectors.CATEGORIES) == set(vocabulary.DETECTED)
    assert set(detectors.CATEGORIES) >= vocabulary.TERM_DETECTED
