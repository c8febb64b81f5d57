"""Jinja2 for the auditor report and the auditors' page: templates under
`ks_privacy/templates/audit/`, read through ks_privacy.resources (so they work from a wheel),
autoescape on. `audit/base.html` holds the layout and CSS every auditor-facing document shares:
extend it to add a document with the same look."""

from __future__ import annotations

import functools
from datetime import datetime

import jinja2

from ks_privacy.evidence import canonical_time
from ks_privacy.resources import TEMPLATES


class ResourceLoader(jinja2.BaseLoader):
    """Templates from the package's resources (no filesystem path assumed)."""

    def get_source(self, environment, template):
        path = TEMPLATES
        for part in template.split("/"):
            if part in ("", ".", ".."):
                raise jinja2.TemplateNotFound(template)
            path = path / part
        if not path.is_file():
            raise jinja2.TemplateNotFound(template)
        text = path.read_text(encoding="utf-8")
        return text, f"ks_privacy/templates/{template}", lambda: True


def _utc(value: datetime | str | None) -> str:
    return "" if value is None else canonical_time(value)


VERDICT_CLASSES = {
    "kept": "ok",
    "not held": "ok",
    "on time": "ok",
    "open": "ok",
    "due soon": "warn",
    "not measured": "warn",
}


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=ResourceLoader(),
        autoescape=True,  # every value is escaped unless a template says otherwise
        undefined=jinja2.StrictUndefined,  # a typo in a template fails loudly, not silently
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["utc"] = _utc
    env.filters["verdict_class"] = lambda text: VERDICT_CLASSES.get(text, "bad")
    return env


def render(name: str, **values) -> str:
    return environment().get_template(name).render(**values)
