"""Pseudonyms: stable for one address however it is typed, unlinkable without the key."""

import pytest

from ks_privacy.pseudonym import (
    Pseudonymiser,
    PseudonymKeyError,
    normalise_email,
    pseudonymiser_from_airflow,
)

KEY = "k" * 32


def test_same_address_however_typed_gives_one_pseudonym():
    pseudonym = Pseudonymiser(KEY)
    assert pseudonym("Jan.Jansen@Example.NL ") == pseudonym("jan.jansen@example.nl")
    assert pseudonym("jan.jansen@example.nl").startswith("ps_")
    assert len(pseudonym("jan.jansen@example.nl")) == 35


def test_unicode_is_normalised():
    composed, decomposed = "zo\u00eb@example.nl", "zoe\u0308@example.nl"
    assert normalise_email(composed) == normalise_email(decomposed)


def test_different_addresses_and_keys_give_different_pseudonyms():
    a, b = Pseudonymiser(KEY), Pseudonymiser("x" * 32)
    assert a("an@x.nl") != a("jan@x.nl")
    assert a("an@x.nl") != b("an@x.nl")


def test_pseudonym_does_not_contain_the_address():
    assert "example" not in Pseudonymiser(KEY)("jan@example.nl")


def test_empty_address_has_no_pseudonym():
    assert Pseudonymiser(KEY)(None) is None
    assert Pseudonymiser(KEY)("  ") is None


def test_short_key_is_refused_with_advice():
    with pytest.raises(PseudonymKeyError, match="at least 32 bytes"):
        Pseudonymiser("short")


def test_repr_hides_the_key():
    assert KEY not in repr(Pseudonymiser(KEY))


def test_missing_airflow_variable_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("AIRFLOW_VAR_KS_PSEUDONYM_KEY", raising=False)
    with pytest.raises(PseudonymKeyError, match="ks_pseudonym_key is not set"):
        pseudonymiser_from_airflow()


def test_key_comes_from_the_airflow_variable(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_KS_PSEUDONYM_KEY", KEY)
    assert pseudonymiser_from_airflow()("a@b.nl") == Pseudonymiser(KEY)("a@b.nl")
