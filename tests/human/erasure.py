"""How the human-loop tests start an erasure, in one place: registered first (the address into
the vault) with "Vera Verifier" as the identity's verifier, so "Olga Ops", who answers, may
approve; the run is triggered with the reference only (tests.requests.support)."""

from __future__ import annotations

from tests.requests.support import APPROVE, holdings, person_everywhere, register_row, registered

__all__ = ["APPROVE", "erasure_conf", "holdings", "person_everywhere", "register_row"]


def erasure_conf(vendors, email: str, ref: str, verifier: str = "Vera Verifier") -> dict:
    """Register an erasure whose identity `verifier` checked; returns what its run is triggered
    with."""
    return registered(vendors, email, ref, identity_verified_by=verifier)
