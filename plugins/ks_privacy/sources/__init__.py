"""Source adapters: every system that holds personal data, behind one protocol (see base.py)."""

from __future__ import annotations

from importlib import import_module

from ks_privacy.policy import RetentionPolicy
from ks_privacy.sources.base import Source

# source name in the policy -> "module:Class"; imported only when a task needs it
ADAPTERS = {
    "activecampaign": "ks_privacy.sources.activecampaign:ActiveCampaignSource",
    "google_contacts": "ks_privacy.sources.google_contacts:GoogleContactsSource",
    "tawk": "ks_privacy.sources.tawk:TawkSource",
    "website_activity": "ks_privacy.sources.website_activity:WebsiteActivitySource",
}


def adapter_class(name: str) -> type:
    module, _, cls = ADAPTERS[name].partition(":")
    return getattr(import_module(module), cls)


def build_source(policy: RetentionPolicy, name: str) -> Source:
    """The adapter for a policy source; it reads its connection lazily, on first use."""
    return adapter_class(name)(policy.sources[name])
