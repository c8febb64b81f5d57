"""The inventory's rules without any vendor: what is counted, which finding each case gives, the
sample, and the report (table and HTML: counts and names, escaped, never a value)."""

from __future__ import annotations

from datetime import date

import pytest

from ks_privacy.discovery import report
from ks_privacy.discovery.fieldmap import FieldMap
from ks_privacy.discovery.inventory import FAILING, classify, findings
from ks_privacy.discovery.sampling import Sample, Values
from ks_privacy.policy import load_policy

TODAY = date(2026, 11, 25)


@pytest.fixture(scope="module")
def policy():
    return load_policy()


def run(policy, source: str, values: list[Values], rules: dict | None = None):
    config = policy.sources[source]
    if rules is not None:
        config = config.model_copy(update={"fields": rules})
    fields = FieldMap.of(source, config)
    result = classify(source, values, TODAY)
    return result, findings(result, policy, fields)


def kinds(found) -> set[tuple]:
    return {(f.kind, f.field, f.category, f.count, f.record_ref) for f in found}


def test_counts_are_values_per_field_and_records_are_counted_once(policy):
    result, found = run(
        policy,
        "activecampaign",
        [
            Values("1", [("email", "a@b.nl"), ("phone", "06-12345678")]),
            Values("2", [("email", "c@d.nl"), ("firstName", "Jan")]),
            Values("1", [("custom:Mobiel", "+31 6 1234 5678")], new_record=False),
        ],
    )
    assert result.records == 2
    assert result.fields["email"].values == 2 and result.fields["email"].found == {"email": 2}
    assert result.fields["custom:Mobiel"].found == {"phone": 1}
    assert result.fields["firstName"].found == {}
    assert found == []


def test_each_case_gives_its_finding(policy):
    _, found = run(
        policy,
        "activecampaign",
        [
            Values("7", [("custom:Notities", "BSN 111222333, IBAN NL91ABNA0417164300")]),
            Values("8", [("custom:Noodnummer", "bel 06-12345678")]),
            Values("9", [("custom:Klantcode", "KS-0042")]),
            Values("10", [("custom:Plaats", "Dorpsstraat 1, 1234 AB Utrecht")]),
        ],
    )
    assert kinds(found) == {
        ("bsn", "custom:Notities", "bsn", 1, "7"),
        ("unlisted", "custom:Notities", "iban", 1, None),
        ("untreated", "custom:Noodnummer", "phone", 1, None),  # not mapped
        ("unmapped", "custom:Klantcode", None, 1, None),
        ("unlisted", "custom:Plaats", "address", 1, None),  # ActiveCampaign holds no addresses
        ("untreated", "custom:Plaats", "address", 1, None),  # and `none` keeps it for ever
    }
    assert {f.kind for f in found if f.failing} == set(FAILING)


def test_a_mapped_field_holds_its_category_and_a_longer_term_leaves_a_shorter_one_untreated(
    policy,
):
    _, found = run(
        policy,
        "google_contacts",
        [Values("people/c1", [("addresses", "Kerkweg 2, 1234 AB Zwolle, tel 06-12345678")])],
        {"addresses": "address", "genders": "gender"},
    )
    # address (180 days) does not keep a phone (160 days) to its term; an e-mail in a phone
    # field would be fine: it goes at 160 days, before its own 180
    assert kinds(found) == {("untreated", "addresses", "phone", 1, None)}
    _, found = run(
        policy,
        "google_contacts",
        [Values("people/c2", [("phoneNumbers", "06-12345678 of a@b.nl")])],
        {"phoneNumbers": "phone"},
    )
    assert found == []


def test_an_acknowledged_category_is_reported_not_failed(policy):
    _, found = run(policy, "google_contacts", [Values("people/c3", [("genders", "female")])])
    assert [(f.kind, f.category, f.failing) for f in found] == [("acknowledged", "gender", False)]
    assert "acknowledged in the policy" in found[0].describe(policy)


def test_a_sample_is_reproducible_and_about_its_size():
    sample = Sample(1000, 20000)
    refs = [str(i) for i in range(20000)]
    chosen = [r for r in refs if sample.includes(r)]
    assert 850 <= len(chosen) <= 1150
    assert chosen == [r for r in refs if Sample(1000, 20000).includes(r)]
    assert all(Sample(0, 20000).includes(r) for r in refs[:100])
    assert Sample(50, 40).everything


def test_the_report_escapes_names_and_shows_no_values(policy):
    rows = [report.FieldRow("custom:<b>Notities</b>", "unmapped", 3, {"phone": 2})]
    finding_row = findings(
        classify(
            "activecampaign", [Values("5", [("custom:<b>Notities</b>", "06-12345678")])], TODAY
        ),
        policy,
        FieldMap.of("activecampaign", policy.sources["activecampaign"]),
    )
    section = report.SourceSection(
        "activecampaign", "ActiveCampaign", 1, "every record", rows, finding_row
    )
    built = report.InventoryReport("run-1", TODAY, policy.statement_version, [section])
    html = report.render_html(built, policy)
    assert "<b>Notities</b>" not in html and "&lt;b&gt;Notities&lt;/b&gt;" in html
    assert "06-12345678" not in html
    assert "need action" in html
    lines = "\n".join(report.render_lines(built, policy))
    assert "FAIL untreated" in lines and "06-12345678" not in lines
    assert report.safe_name("Notities <intern>?") == "Notities _intern__"
