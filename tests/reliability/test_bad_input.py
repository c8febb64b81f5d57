"""Bad input, generated: every malformed policy file is a validation error naming the key (never
an unhandled exception), and no malformed request parameter ever becomes an address to act on."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ks_privacy.policy import PolicyError, RetentionPolicy, parse_policy
from ks_privacy.request_params import REASONS, InvalidRequest, check_email, validate
from ks_privacy.resources import DEFAULT_POLICY

SHIPPED_TEXT = DEFAULT_POLICY.read_text()
SHIPPED = yaml.safe_load(SHIPPED_TEXT)
TODAY = date(2026, 11, 25)

junk = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, (*prefix, key))


ALL_PATHS = [p for p in paths(SHIPPED) if p]


def replaced(data, path, value):
    if not path:
        return value
    copy = dict(data)
    copy[path[0]] = replaced(data[path[0]], path[1:], value) if len(path) > 1 else value
    return copy


def removed(data, path):
    copy = dict(data)
    if len(path) == 1:
        copy.pop(path[0])
    else:
        copy[path[0]] = removed(data[path[0]], path[1:])
    return copy


# ---- broken policy files ------------------------------------------------------------------------

PROCESSORS_IN_USE = {source["processor"] for source in SHIPPED["sources"].values()}
HELD_CATEGORIES = {c for p in SHIPPED["processors"].values() for c in p["categories"]}


def optional(path: tuple) -> bool:
    """Keys the policy may leave out (the file format's own defaults), from the shipped data:
    a source's legal_hold or its parts, a category no processor holds, a `choice` on a
    published term. (A whole source is required: one is switched off with `enabled: false`.)"""
    match path:
        case ("sources", _, "legal_hold", *_):
            return True
        case ("timezone",):  # default Europe/Amsterdam: the company's calendar
            return True
        case ("human_steps", *_):  # time-outs with documented defaults (7, 3 and 7 days)
            return True
        case ("intake", *_):  # the mailbox's keys, with documented defaults
            return True
        case ("processors", _, "acknowledged", *_):  # a gap accepted with a reason, or none
            return True
        case ("sources", _, "fields", *_):  # the adapter's own fields are always mapped
            return True
        case ("categories", category):
            return category not in HELD_CATEGORIES
        case ("categories", category, "choice"):
            return SHIPPED["categories"][category]["published"]
    return False


REQUIRED_PATHS = [p for p in ALL_PATHS if not optional(p)]


def related(named: str, path: tuple) -> bool:
    """A key an error about `path` may name: the path, what is inside it, what contains it
    (an object-level check), or a key that refers to it (a processor's category, a source's
    processor, the lead time that must stay under the shortest term)."""
    dotted = ".".join(str(p) for p in path)
    if named == dotted or named.startswith(dotted + ".") or dotted.startswith(named + "."):
        return True
    if path[0] == "categories":  # a processor's category, or a field mapped to it
        return named == "lead_time_days" or bool(
            re.fullmatch(r"processors\.\w+\.categories\.\d+", named)
            or re.fullmatch(r"sources\.\w+\.fields\..+", named)
        )
    if path[0] == "processors":
        return re.fullmatch(r"sources\.\w+\.processor", named) is not None
    return False


PROBLEM = re.compile(
    r"^  retention_policy\.yaml, line \d+, key `(.+?)`: ", re.MULTILINE | re.DOTALL
)


def assert_names_the_key(error: PolicyError, path: tuple) -> None:
    """Every problem names its line and key, and each key belongs to what was broken. (A key
    is read up to the first "`: ": junk keys may hold a backtick or a line break.)"""
    text = str(error)
    assert text.startswith("invalid retention policy:\n")
    keys = PROBLEM.findall(text)
    assert keys, text
    assert text.count(", line ") == len(keys), text  # no problem without its key
    for key in keys:
        assert related(key, path), (key, path)


@pytest.mark.parametrize("path", REQUIRED_PATHS, ids=lambda p: ".".join(map(str, p)))
def test_every_required_key_removed_is_a_named_validation_error(path):
    with pytest.raises(PolicyError) as raised:
        parse_policy(yaml.safe_dump(removed(SHIPPED, path), sort_keys=False))
    assert_names_the_key(raised.value, path)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(ALL_PATHS), value=junk, drop=st.booleans())
def test_any_broken_policy_is_a_named_validation_error(path, value, drop):
    """A key removed or replaced by junk: a required key removed is always refused; anything
    refused names its line and a key that belongs to what was broken (never an unhandled
    exception). Junk can be a good value (a term replaced by another good integer)."""
    data = removed(SHIPPED, path) if drop else replaced(SHIPPED, path, value)
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    try:
        policy = parse_policy(text)
    except PolicyError as error:
        assert_names_the_key(error, path)
        return
    assert not (drop and path in REQUIRED_PATHS), f"{path} removed, yet the policy was accepted"
    assert isinstance(policy, RetentionPolicy)


# cut before the last source's guard (the keys after it are optional): never a complete policy
TRUNCATE_BEFORE = SHIPPED_TEXT.rindex("guard:")


@settings(max_examples=200, deadline=None)
@given(
    st.text(max_size=300)
    | st.builds(lambda n: SHIPPED_TEXT[:n], st.integers(0, TRUNCATE_BEFORE))
    | st.builds(lambda v: yaml.safe_dump(v, allow_unicode=True), junk)
)
def test_any_text_is_refused_cleanly(text):
    """Text that cannot be a whole policy (random text, a truncated policy, YAML of junk) is a
    PolicyError naming the file, never another exception and never a policy."""
    with pytest.raises(PolicyError) as raised:
        parse_policy(text)
    assert str(raised.value).startswith("invalid retention policy")
    assert "retention_policy.yaml" in str(raised.value)


PATTERNISH = st.sampled_from(["*", "%", "?", "_", "", " ", "[a-z]", "^", "$", ",", ";"])
local = st.text(alphabet="abcdefghij.+-_", min_size=0, max_size=8)
domain = st.text(alphabet="abcdefghij.-", min_size=0, max_size=10)


@settings(max_examples=400, deadline=None)
@given(
    prefix=local,
    wildcard=PATTERNISH,
    suffix=local,
    host=domain,
    tld=st.sampled_from(["nl", "com", "", "n", "*"]),
    at=st.sampled_from(["@", "", "@@"]),
)
def test_partial_and_wildcard_addresses_never_pass(prefix, wildcard, suffix, host, tld, at):
    candidate = f"{prefix}{wildcard}{suffix}{at}{host}{'.' if tld else ''}{tld}"
    try:
        email = check_email(candidate)
    except InvalidRequest as refusal:
        assert refusal.field == "subject_email" and refusal.reason
        return
    # what passes is one whole, literal address: no pattern characters, a local part, a domain
    local_part, _, host_part = email.partition("@")
    assert local_part and "." in host_part and len(host_part.rsplit(".", 1)[1]) >= 2
    assert not set(email) & set("*%?[]^$,; ")


# ---- malformed request parameters ---------------------------------------------------------------

GOOD_REQUEST = {
    "subject_email": "jan.jansen@example.nl",
    "request_ref": "REQ-2026-0042",
    "received_on": "2026-11-20",
    "identity_verified": True,
    "identity_verified_by": "Olga Ops",
    "dry_run": False,
    "reason": "minor",
}
OPTIONAL_PARAMS = {"dry_run", "reason"}  # defaults: false, "request"
not_text = junk.filter(lambda v: not isinstance(v, str))
# Values each field must refuse, by what the trigger form promises (not by the code's regexes):
MALFORMED = {
    "subject_email": not_text
    | st.text(max_size=20).filter(lambda t: "@" not in t)
    | st.sampled_from(["*@example.nl", "jan@", "@example.nl", "jan@example", "a@b@example.nl"]),
    # a reference holds a year and a number: text without any digit cannot be one
    "request_ref": not_text | st.text(max_size=20).filter(lambda t: not any(map(str.isdigit, t))),
    "received_on": not_text.filter(lambda v: not isinstance(v, int))
    | st.text(alphabet="abcdefghij -/:", max_size=12)
    | st.dates(TODAY + timedelta(days=1), date(2100, 1, 1)).map(date.isoformat)  # future
    | st.dates(date(1990, 1, 1), date(2018, 5, 21)).map(date.isoformat),  # before the statement
    "identity_verified": junk.filter(lambda v: v is not True),
    "identity_verified_by": not_text
    | st.text(max_size=1)
    | st.text(min_size=1, max_size=10).map(lambda t: f"Olga {t}@ops")  # an address, not a name
    | st.integers(0, 9).map(lambda d: f"Olga Ops {d}"),
    "dry_run": junk.filter(lambda v: not isinstance(v, bool)),
    "reason": junk.filter(lambda v: v not in REASONS),
}


@settings(max_examples=400, deadline=None)
@given(data=st.data(), field=st.sampled_from(sorted(MALFORMED)), drop=st.booleans())
def test_any_malformed_request_is_refused_by_name(data, field, drop):
    """A good request with one field broken (junk in it, or a required one left out) is refused,
    and the refusal names exactly that field."""
    params = dict(GOOD_REQUEST)
    if drop and field not in OPTIONAL_PARAMS:
        del params[field]
    else:
        params[field] = data.draw(MALFORMED[field], label=field)
    with pytest.raises(InvalidRequest) as raised:
        validate(params, TODAY, with_reason=True)
    assert raised.value.field == field
    assert raised.value.reason


def test_the_good_request_of_the_malformed_test_is_accepted():
    """Else every refusal above would be the good part's."""
    assert validate(GOOD_REQUEST, TODAY, with_reason=True).request_ref == "REQ-2026-0042"
