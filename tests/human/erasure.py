"""How the human-loop tests start an erasure, in one place: the request DAGs' own test helpers,
with "Vera Verifier" as the identity's verifier (so "Olga Ops", who answers, may approve).

Where requests carry only a reference (issue 16 on main), `erasure_conf` registers the request
first: `tests.requests.support.registered(vendors, email, ref, identity_verified_by=verifier)`,
and the other names come from `tests.requests.support`."""

from __future__ import annotations

from tests.requests.test_erasure import APPROVE, conf, holdings, person_everywhere, register_row

__all__ = ["APPROVE", "erasure_conf", "holdings", "person_everywhere", "register_row"]


def erasure_conf(vendors, email: str, ref: str, verifier: str = "Vera Verifier") -> dict:
    """What an erasure run is triggered with, for a request whose identity `verifier` checked."""
    return conf(email, ref, identity_verified_by=verifier)
