"""The answer a person gets, one letter per request type and outcome, Dutch and English.

The wording lives in Jinja2 templates (`ks_privacy/templates/letters/<kind>_<outcome>.<lang>.txt`)
so the legal text is edited without touching code; this module only gathers the facts (counts,
sources, dates, processors informed: GDPR Art. 19) and renders them with StrictUndefined, so a
template asking for a fact that is not there fails loudly instead of printing a blank. A letter
names no personal data (staff add the salutation when they send it), so it can sit next to the
evidence.
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import jinja2
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ks_privacy.audit_db import connection
from ks_privacy.export import write_confirmation
from ks_privacy.plans import VERIFIED
from ks_privacy.policy import RetentionPolicy
from ks_privacy.resources import TEMPLATES
from ks_privacy.timeutil import as_utc

AUTHORITY = "Autoriteit Persoonsgegevens (autoriteitpersoonsgegevens.nl)"
LANGUAGES = ("nl", "en")
OUTCOMES = {
    "erasure": ("completed", "no_data_found", "rejected"),
    "access": ("completed", "no_data_found"),
    "rectification": ("completed", "no_data_found", "refused"),
    "consent": ("completed", "no_data_found"),
}
SEPARATOR = "\n" + "-" * 72 + "\n\n"


@dataclass
class RunSummary:
    erased: Counter = field(default_factory=Counter)  # source -> verified erasures
    held: Counter = field(default_factory=Counter)
    unfinished: Counter = field(default_factory=Counter)
    when: dict[str, str] = field(default_factory=dict)  # source -> date of the last erasure

    @property
    def counts(self) -> dict[str, int]:
        return {f"erased.{k}": v for k, v in self.erased.items()} | {
            f"held.{k}": v for k, v in self.held.items()
        }

    @property
    def found(self) -> int:
        return sum(self.erased.values()) + sum(self.held.values()) + sum(self.unfinished.values())


def summarise(engine: Engine, dag_id: str, run_id: str) -> RunSummary:
    """What an erasure run did, from its plan and evidence."""
    summary = RunSummary()
    key = {"d": dag_id, "r": run_id}
    with connection(engine) as conn:
        plan = conn.execute(
            sa.text(
                "SELECT source, action, state, outcome FROM ks_plan "
                "WHERE dag_id = :d AND run_id = :r"
            ),
            key,
        )
        for source, action, state, outcome in plan:
            if action == "hold":
                summary.held[source] += 1
            elif state == VERIFIED or outcome == "dry_run":
                summary.erased[source] += 1
            else:
                summary.unfinished[source] += 1
        times: dict[str, list] = defaultdict(list)
        for source, recorded_at in conn.execute(
            sa.text(
                "SELECT source, recorded_at FROM ks_evidence WHERE dag_id = :d AND run_id = :r "
                "AND event IN ('erase.outcome', 'manual.confirmed')"
            ),
            key,
        ):
            times[source].append(as_utc(recorded_at))
    summary.when = {s: max(t).date().isoformat() for s, t in times.items()}
    return summary


def _load(name: str) -> str | None:
    path = TEMPLATES.joinpath(*name.split("/"))
    return path.read_text(encoding="utf-8") if path.is_file() else None


@functools.cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(_load),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 (plain-text letters, not HTML)
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def template_name(kind: str, outcome: str, language: str) -> str:
    if outcome not in OUTCOMES[kind]:
        raise ValueError(f"no letter for a {kind} request closed as {outcome}")
    return f"letters/{kind}_{outcome}.{language}.txt"


def processor_label(policy: RetentionPolicy, source: str) -> str:
    return policy.processors[policy.sources[source].processor].label


def erasure_facts(summary: RunSummary, policy: RetentionPolicy) -> dict:
    """Per source what was erased when, what was kept under a legal obligation, and which
    processors (not us) were told (GDPR Art. 19)."""
    sources = [
        {
            "label": processor_label(policy, s),
            "erased": summary.erased.get(s, 0),
            "held": summary.held.get(s, 0),
            "when": summary.when.get(s, "-"),
        }
        for s in sorted(set(summary.erased) | set(summary.held))
    ]
    informed = sorted(
        {
            processor_label(policy, s)
            for s, n in summary.erased.items()
            if n and policy.sources[s].processor != "klantenscoren"
        }
    )
    return {"sources": sources, "informed": informed}


def per_source(policy: RetentionPolicy, values: Mapping[str, object]) -> list[dict]:
    """[{label, value}] in source order, for facts counted per source."""
    return [{"label": processor_label(policy, s), "value": values[s]} for s in sorted(values)]


def letter(ref: str, kind: str, outcome: str, closed_on: date, **facts) -> str:
    """Both languages, Dutch first."""
    context = {"ref": ref, "kind": kind, "closed_on": closed_on.isoformat(), "authority": AUTHORITY}
    texts = [
        environment()
        .get_template(template_name(kind, outcome, language))
        .render(**context, **facts)
        .strip()
        + "\n"
        for language in LANGUAGES
    ]
    return SEPARATOR.join(texts)


def write(ref: str, text: str) -> str:
    return write_confirmation(ref, text)
