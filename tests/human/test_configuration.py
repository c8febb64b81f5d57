"""The pieces without services: `ks_people` validation naming the field, who is the same person,
messages that refuse an address, and which failures the retry policy fails at once."""

from __future__ import annotations

import json

import pytest
from airflow.sdk.definitions.retry_policy import RetryAction

from ks_privacy.hooks.vendor_http import VendorAuthError, VendorError, VendorRetryable
from ks_privacy.notify import messages
from ks_privacy.notify.people import PeopleConfigError, parse_people
from ks_privacy.policy import PolicyError
from ks_privacy.pseudonym import PseudonymKeyError
from ks_privacy.retrying import FailFastOnPermanentErrors
from tests.fixtures.people import people_config


def config(**changes) -> str:
    data = json.loads(people_config("smtp_default", "ks_chat"))
    data.update(changes)
    return json.dumps(data)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("{not json", "is not JSON"),
        (config(approvers=["olga.ops", "nobody"]), "approvers lists ['nobody']"),
        (
            config(people={"olga.ops": {"name": "Olga Ops", "email": "olga-at-example"}}),
            "people.olga.ops.email",
        ),
        (config(approver=["olga.ops"]), "approver: Extra inputs are not permitted"),
    ],
)
def test_a_broken_ks_people_names_the_field(text, names):
    with pytest.raises(PeopleConfigError) as raised:
        parse_people(text)
    assert "ks_people" in str(raised.value) and names in str(raised.value)


def test_a_role_nobody_fills_is_refused_with_its_name():
    people = parse_people(config(tawk_operators=[]))
    with pytest.raises(PeopleConfigError, match="nobody under `tawk_operators`"):
        people.require("tawk_operators")
    assert [uid for uid, _ in people.members("guard_reviewers")] == ["olga.ops"]  # ops


def test_a_name_on_a_form_and_a_user_id_are_one_person():
    people = parse_people(config())
    assert people.identities("Olga  ops") == {"olga.ops", "olga ops"}
    assert people.identities("olga.ops") & people.identities("Olga Ops")
    assert not people.identities("anna.approver") & people.identities("Olga Ops", "dag_test")
    assert people.identities(None, "") == set()


def test_messages_refuse_an_address_and_carry_the_link():
    with pytest.raises(ValueError, match="address"):
        messages.Message("subject", ("mail jan@example.nl",))
    message = messages.approval_waiting(
        "REQ-2026-0001", {"tawk": {"erase": 2, "hold": 1}}, "http://x/required_actions", 7
    )
    assert "tawk: 2 to erase, 1 on legal hold (kept)" in message.lines
    assert '<a href="http://x/required_actions">' in message.html()
    assert message.text().endswith("http://x/required_actions")


@pytest.mark.parametrize(
    ("exception", "action"),
    [
        (VendorAuthError("ActiveCampaign", "list contacts", 403, "Forbidden"), RetryAction.FAIL),
        (VendorError("Tawk", "configuration", None, "needs a key"), RetryAction.FAIL),
        (PolicyError("invalid retention policy"), RetryAction.FAIL),
        (PseudonymKeyError("not set"), RetryAction.FAIL),
        (PeopleConfigError("not set"), RetryAction.FAIL),
        (VendorRetryable("ActiveCampaign", "list contacts", 429, ""), RetryAction.DEFAULT),
        (VendorError("Tawk", "chat.get", 500, ""), RetryAction.DEFAULT),
        (ConnectionError("reset"), RetryAction.DEFAULT),
    ],
)
def test_which_failures_are_retried(exception, action):
    decision = FailFastOnPermanentErrors().evaluate(exception, try_number=1, max_tries=4)
    assert decision.action == action


def test_a_missing_connection_is_not_retried():
    from airflow.sdk.exceptions import AirflowNotFoundException

    decision = FailFastOnPermanentErrors().evaluate(
        AirflowNotFoundException("The conn_id `x` isn't defined"), try_number=1, max_tries=4
    )
    assert decision.action == RetryAction.FAIL
