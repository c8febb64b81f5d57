"""The package's own data files (default policy, audit schema, templates), read through
importlib.resources so they work from a wheel as well as from a source checkout."""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

DATA: Traversable = files("ks_privacy") / "data"
DEFAULT_POLICY: Traversable = DATA / "retention_policy.yaml"
AUDIT_SCHEMA: Traversable = DATA / "audit_schema"
TEMPLATES: Traversable = files("ks_privacy") / "templates"
