"""Bad input, generated: every malformed policy file is a validation error naming the key (never
an unhandled exception), and no malformed request parameter ever becomes an address to act on."""

from __future__ import annotations

import contextlib
from datetime import date

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ks_privacy.policy import PolicyError, parse_policy
from ks_privacy.request_params import InvalidRequest, check_email, validate
from ks_privacy.resources import DEFAULT_POLICY

SHIPPED = yaml.safe_load(DEFAULT_POLICY.read_text())
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


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(ALL_PATHS), value=junk, drop=st.booleans())
def test_any_broken_policy_is_a_named_validation_error(path, value, drop):
    data = removed(SHIPPED, path) if drop else replaced(SHIPPED, path, value)
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    try:
        parse_policy(text)
    except PolicyError as error:
        message = str(error)
        assert "key `" in message or "not valid YAML" in message or "mapping" in message
        assert "line " in message or "YAML" in message or "mapping" in message
    # some replacements are valid policies (e.g. a term replaced by another good integer)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_parsed_or_refused_cleanly(text):
    with contextlib.suppress(PolicyError):
        parse_policy(text)


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


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "subject_email",
                "request_ref",
                "received_on",
                "identity_verified",
                "identity_verified_by",
                "dry_run",
                "reason",
            ]
        ),
        junk,
        max_size=7,
    )
)
def test_any_malformed_request_is_refused_by_name(params):
    try:
        validate(params, TODAY, with_reason=True)
    except InvalidRequest as refusal:
        assert refusal.field in {
            "subject_email",
            "request_ref",
            "received_on",
            "identity_verified",
            "identity_verified_by",
            "dry_run",
            "reason",
        }
