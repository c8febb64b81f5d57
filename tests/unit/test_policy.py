"""The retention rule at every boundary, and every way the policy file can be wrong."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
import yaml

from ks_privacy.policy import (
    Action,
    Facts,
    PolicyError,
    decide,
    last_activity,
    load_policy,
    parse_policy,
)
from ks_privacy.resources import DEFAULT_POLICY

NOW = datetime(2026, 11, 25, tzinfo=UTC)
CONTACT = frozenset({"name", "phone", "email", "ip_address"})
WITHOUT_PHONE = CONTACT - {"phone"}


@pytest.fixture(scope="module")
def policy():
    return load_policy()


def facts(age: timedelta, categories=CONTACT, held=False):
    return Facts(frozenset(categories), NOW - age, held)


def test_shipped_policy_encodes_the_statement(policy):
    terms = {name: term.term_days for name, term in policy.categories.items()}
    assert terms == {
        "name": 180,
        "gender": 180,
        "address": 180,
        "phone": 160,
        "email": 180,
        "ip_address": 180,
        "website_activity": 180,
    }
    assert policy.unpublished_categories() == ["gender"]
    holders = {name: set(p.categories) for name, p in policy.processors.items()}
    assert holders["google"] == {"name", "address", "phone", "email", "ip_address"}
    assert holders["tawk"] == holders["activecampaign"] == {"name", "phone", "email", "ip_address"}
    assert policy.sources["activecampaign"].legal_hold.tag == "legal-hold"
    assert policy.sources["google_contacts"].legal_hold.contact_group == "legal-hold"
    assert policy.lead_time_days == 1
    assert policy.request_deadline_days == 28


def test_report_lists_terms_and_the_gender_gap(policy):
    text = "\n".join(policy.report_lines())
    assert "phone               160 d" in text
    assert "gap: gender has no published term" in text


@pytest.mark.parametrize(
    ("age", "expected", "removed"),
    [
        (timedelta(days=158, hours=23, minutes=59), Action.KEEP, ()),
        # term 160 d ends within the next day (lead time 1 d): remove now, never a day late
        (timedelta(days=159), Action.REDACT, ("phone",)),
        (timedelta(days=160), Action.REDACT, ("phone",)),
        (timedelta(days=178, hours=23), Action.REDACT, ("phone",)),
        (timedelta(days=179), Action.ERASE, ("email", "ip_address", "name", "phone")),
        (timedelta(days=400), Action.ERASE, ("email", "ip_address", "name", "phone")),
    ],
)
def test_decision_boundaries(policy, age, expected, removed):
    decision = decide(policy, facts(age), NOW)
    assert decision.action == expected
    assert decision.categories == removed
    assert decision.age_days == age.days


def test_a_contact_already_without_phone_is_kept_until_180_days(policy):
    assert decide(policy, facts(timedelta(days=170), WITHOUT_PHONE), NOW).action == Action.KEEP
    erase = decide(policy, facts(timedelta(days=179), WITHOUT_PHONE), NOW)
    assert erase.action == Action.ERASE
    assert erase.rule == "email>180d,ip_address>180d,name>180d"


def test_without_lead_time_the_term_is_exact(policy):
    strict = policy.model_copy(update={"lead_time_days": 0})
    assert decide(strict, facts(timedelta(days=159, hours=23)), NOW).action == Action.KEEP
    assert decide(strict, facts(timedelta(days=160)), NOW).action == Action.REDACT


def test_legal_hold_wins_and_says_what_it_holds(policy):
    decision = decide(policy, facts(timedelta(days=300), held=True), NOW)
    assert decision.action == Action.HOLD
    assert decision.rule.startswith("legal-hold(")
    assert decide(policy, facts(timedelta(days=3), held=True), NOW).action == Action.KEEP


def test_no_timestamp_is_never_deleted(policy):
    decision = decide(policy, Facts(CONTACT, None), NOW)
    assert decision.action == Action.NO_CLOCK


def test_time_zones_are_normalised(policy):
    chicago = timezone(timedelta(hours=-5))
    # 159 days ago in UTC is 2026-06-19T00:00Z, which is 2026-06-18T19:00-05:00
    stamp = datetime(2026, 6, 18, 19, 0, tzinfo=chicago)
    assert decide(policy, Facts(CONTACT, stamp), NOW).action == Action.REDACT
    one_minute_later = stamp + timedelta(minutes=1)
    assert decide(policy, Facts(CONTACT, one_minute_later), NOW).action == Action.KEEP


def test_naive_times_are_refused(policy):
    with pytest.raises(ValueError, match="naive"):
        decide(policy, Facts(CONTACT, datetime(2026, 1, 1)), NOW)


def test_last_activity_is_the_latest_clock_timestamp():
    created = datetime(2025, 1, 1, tzinfo=UTC)
    updated = datetime(2026, 1, 1, tzinfo=UTC)
    stamps = {"created": created, "updated": updated, "ignored": NOW}
    assert last_activity(stamps, ["created", "updated"]) == updated
    assert last_activity({"created": created, "updated": None}, ["created", "updated"]) == created
    assert last_activity({}, ["created"]) is None


def test_unknown_category_on_a_record_is_an_error(policy):
    with pytest.raises(PolicyError, match="shoe_size"):
        decide(policy, facts(timedelta(days=1), {"shoe_size"}), NOW)


# ---- broken policy files ----------------------------------------------------------------------

SHIPPED = DEFAULT_POLICY.read_text()


def mutate(change) -> str:
    data = yaml.safe_load(SHIPPED)
    change(data)
    return yaml.safe_dump(data, sort_keys=False)


def set_in(path, value):
    def change(data):
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


def delete_in(path):
    def change(data):
        node = data
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return change


@pytest.mark.parametrize(
    ("change", "key", "problem"),
    [
        (
            set_in(["categories", "phone", "term_days"], -160),
            "categories.phone.term_days",
            "greater",
        ),
        (
            set_in(["categories", "phone", "term_days"], "160 days"),
            "categories.phone.term_days",
            "integer",
        ),
        (
            set_in(["categories", "shoe_size"], {"label": "x", "term_days": 1, "published": True}),
            "categories.shoe_size",
            "Input should be",
        ),
        (
            set_in(["processors", "tawk", "categories"], ["name", "religion"]),
            "processors.tawk.categories.1",
            "Input should be",
        ),
        (set_in(["mode"], "delete_everything"), "mode", "'enforce' or 'dry_run'"),
        (
            set_in(["sources", "tawk", "guard", "max_fraction"], 1.5),
            "sources.tawk.guard.max_fraction",
            "less than or equal to 1",
        ),
        (set_in(["sources", "tawk", "clock"], []), "sources.tawk.clock", "at least 1"),
        (
            set_in(["sources", "tawk", "processor"], "whatsapp"),
            "sources.tawk.processor",
            "whatsapp",
        ),
        (delete_in(["categories", "ip_address"]), "processors.google.categories.4", "ip_address"),
        (set_in(["categories", "gender", "choice"], None), "categories.gender", "choice"),
        (set_in(["lead_time_days"], 200), "lead_time_days", "less than or equal to 7"),
        (set_in(["categories", "phone", "term_days"], 1), "lead_time_days", "shorter than"),
        (set_in(["sources", "tawk", "colour"], "blue"), "sources.tawk.colour", "Extra inputs"),
        (delete_in(["sources", "tawk", "guard"]), "sources.tawk.guard", "Field required"),
        (set_in(["request_deadline_days"], 60), "request_deadline_days", "less than or equal"),
    ],
)
def test_broken_policy_names_key_line_and_problem(change, key, problem):
    with pytest.raises(PolicyError) as error:
        parse_policy(mutate(change))
    message = str(error.value)
    assert f"key `{key}`" in message
    assert problem in message
    assert "line " in message


def test_error_line_points_at_the_offending_line():
    text = SHIPPED.replace("term_days: 160", "term_days: -160")
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "term_days: -160" in s)
    with pytest.raises(PolicyError, match=f"line {line}, key `categories.phone.term_days`"):
        parse_policy(text)


def test_duplicate_keys_are_refused():
    text = SHIPPED.replace("mode: enforce", "mode: enforce\nmode: dry_run")
    with pytest.raises(PolicyError, match="duplicate key 'mode'"):
        parse_policy(text)


@pytest.mark.parametrize("text", ["", "just a string", "- a\n- list", "mode: [unclosed"])
def test_not_a_policy_at_all(text):
    with pytest.raises(PolicyError, match="invalid retention policy"):
        parse_policy(text)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(PolicyError, match=r"cannot read the retention policy at .*nope\.yaml"):
        load_policy(tmp_path / "nope.yaml")


def test_pendulum_reference_times_work(policy):
    """Airflow hands tasks pendulum datetimes; adding a timedelta to one can drop its zone."""
    import pendulum

    now = pendulum.datetime(2026, 11, 25, tz="UTC")
    assert decide(policy, facts(timedelta(days=200)), now).action == Action.ERASE
