"""Source adapters: every system that holds personal data, behind one protocol (see base.py)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

from ks_privacy.policy import RetentionPolicy
from ks_privacy.sources.base import Source


@dataclass(frozen=True)
class Adapter:
    """Where a source's adapter class lives, and the one fact DAG files need about it at parse
    time. DAG files must not import the adapter (its vendor clients cost seconds per parse);
    tests check that `manual_erasure` here equals the class's own."""

    path: str  # "module:Class", imported only when a task needs it
    manual_erasure: bool = False  # no delete API: a person deletes, and confirms


ADAPTERS = {
    "activecampaign": Adapter("ks_privacy.sources.activecampaign:ActiveCampaignSource"),
    "google_contacts": Adapter("ks_privacy.sources.google_contacts:GoogleContactsSource"),
    "tawk": Adapter("ks_privacy.sources.tawk:TawkSource", manual_erasure=True),
    "website_activity": Adapter("ks_privacy.sources.website_activity:WebsiteActivitySource"),
}


def adapter_class(name: str) -> type:
    module, _, cls = ADAPTERS[name].path.partition(":")
    return getattr(import_module(module), cls)


def build_source(policy: RetentionPolicy, name: str) -> Source:
    """The adapter for a policy source; it reads its connection lazily, on first use."""
    return adapter_class(name)(policy.sources[name])
