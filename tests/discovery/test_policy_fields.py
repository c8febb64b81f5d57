"""The policy's field map and acknowledged gaps: the shipped file maps every field the sandbox's
sources hold, and every way to get them wrong is refused naming the key and its line."""

from __future__ import annotations

import pytest

from ks_privacy.discovery.fieldmap import DEFAULT_FIELDS, FieldMap
from ks_privacy.policy import FreeText, PolicyError, load_policy, parse_policy
from ks_privacy.resources import DEFAULT_POLICY

TEXT = DEFAULT_POLICY.read_text()


def line_of(fragment: str, text: str = TEXT) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


def test_the_shipped_map_sends_every_phone_field_to_the_phone_term():
    policy = load_policy()
    ac = FieldMap.of("activecampaign", policy.sources["activecampaign"])
    assert ac.structured(["phone"]) == ["phone", "custom:Mobiel"]
    assert ac.free_text() == ["custom:Notities"]
    google = FieldMap.of("google_contacts", policy.sources["google_contacts"])
    assert google.structured(["phone"]) == ["phoneNumbers"]
    assert google.free_text() == ["biographies", "userDefined"]
    assert FieldMap.of("tawk", policy.sources["tawk"]).rule("messages") == FreeText(
        free_text="redact"
    )
    assert policy.processors["google"].acknowledged.keys() == {"gender"}


def test_a_source_without_a_map_keeps_its_own_fields():
    policy = load_policy()
    bare = policy.sources["activecampaign"].model_copy(update={"fields": {}})
    assert FieldMap.of("activecampaign", bare).rules == DEFAULT_FIELDS["activecampaign"]


def test_a_standard_field_left_out_of_the_map_is_still_kept_to_its_term():
    """A map that names a custom field but forgets the standard phone field must not stop the
    sweep from redacting that phone: the adapter's own fields are always mapped."""
    policy = load_policy()
    source = policy.sources["activecampaign"]
    partial = {k: v for k, v in source.fields.items() if k != "phone"}
    fields = FieldMap.of("activecampaign", source.model_copy(update={"fields": partial}))
    assert fields.structured(["phone"]) == ["phone", "custom:Mobiel"]


@pytest.mark.parametrize(
    ("old", "new", "key", "message"),
    [
        (
            '"custom:Mobiel": phone',
            '"custom:Mobiel": phon',
            "sources.activecampaign.fields.custom:Mobiel",
            "'phon' is not a field rule",
        ),
        (
            "biographies: {free_text: redact}",
            "biographies: {free_text: later}",
            "sources.google_contacts.fields.biographies",
            "is not a field rule",
        ),
        (
            "phoneNumbers: phone",
            "phoneNumber: phone",
            "sources.google_contacts.fields.phoneNumber",
            "google_contacts has no field 'phoneNumber'",
        ),
        (
            "visitor.email: email",
            "visitor.mail: email",
            "sources.tawk.fields.visitor.mail",
            "tawk has no field 'visitor.mail'",
        ),
        (
            "      gender: >-",
            "      bsn: >-",
            "processors.google.acknowledged.bsn",
            "bsn may never be kept",
        ),
        (
            "      gender: >-",
            "      phone: >-",
            "processors.google.acknowledged.phone",
            "phone is listed for google already",
        ),
        (
            "      gender: >-",
            "      shoe_size: >-",
            "processors.google.acknowledged.shoe_size",
            "'shoe_size' is not a category",
        ),
    ],
)
def test_a_wrong_map_is_refused_naming_key_and_line(old, new, key, message):
    broken = TEXT.replace(old, new, 1)
    with pytest.raises(PolicyError) as raised:
        parse_policy(broken)
    text = str(raised.value)
    assert f"line {line_of(new, broken)}, key `{key}`" in text
    assert message in text


def test_a_mapped_category_needs_a_term():
    start = TEXT.index("  gender:\n    label: Geslacht")
    end = TEXT.index("  address:\n    label: Adresgegevens")
    without_gender = TEXT[:start] + TEXT[end:]
    with pytest.raises(PolicyError) as raised:
        parse_policy(without_gender)
    text = str(raised.value)
    assert f"line {line_of('genders: gender', without_gender)}" in text
    assert "key `sources.google_contacts.fields.genders`: category 'gender' has no entry" in text


def test_free_text_needs_the_terms_it_is_kept_to():
    start = TEXT.index("  address:\n    label: Adresgegevens")
    end = TEXT.index("  phone:\n    label: Telefoonnummer")
    without_address = TEXT[:start] + TEXT[end:]
    without_address = without_address.replace(
        "[name, address, phone, email, ip_address]", "[name, phone, email, ip_address]"
    )
    without_address = without_address.replace("      addresses: address\n", "")
    with pytest.raises(PolicyError) as raised:
        parse_policy(without_address)
    text = str(raised.value)
    assert "key `sources.activecampaign.fields.custom:Notities`" in text
    assert "`categories` needs address" in text
