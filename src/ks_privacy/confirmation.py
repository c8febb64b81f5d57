"""The answer a person gets: what was erased where and when, which processors were informed
(GDPR Art. 19), in Dutch and English. It names no personal data, so it can sit next to the
evidence; staff add the salutation when they send it."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ks_privacy.audit_db import connection
from ks_privacy.export import write_confirmation
from ks_privacy.plans import VERIFIED
from ks_privacy.policy import RetentionPolicy
from ks_privacy.timeutil import as_utc

AUTHORITY = "Autoriteit Persoonsgegevens (autoriteitpersoonsgegevens.nl)"


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


def summarise(engine: Engine, dag_id: str, run_id: str) -> RunSummary:
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


def _processor_lines(summary: RunSummary, policy: RetentionPolicy, dutch: bool) -> list[str]:
    lines = []
    for source, count in sorted(summary.erased.items()):
        label = policy.processors[policy.sources[source].processor].label
        when = summary.when.get(source, "-")
        if dutch:
            lines.append(f"- {label}: {count} gegeven(s) verwijderd op {when}")
        else:
            lines.append(f"- {label}: {count} record(s) erased on {when}")
    for source, count in sorted(summary.held.items()):
        label = policy.processors[policy.sources[source].processor].label
        lines.append(
            f"- {label}: {count} gegeven(s) bewaard vanwege een wettelijke verplichting"
            if dutch
            else f"- {label}: {count} record(s) kept because the law requires us to"
        )
    return lines or ["- (geen gegevens gevonden)" if dutch else "- (no data found)"]


def completed(ref: str, kind: str, summary: RunSummary, policy: RetentionPolicy) -> str:
    informed = sorted(
        {
            policy.processors[policy.sources[s].processor].label
            for s in summary.erased
            if policy.sources[s].processor != "klantenscoren"
        }
    )
    nl = _processor_lines(summary, policy, dutch=True)
    en = _processor_lines(summary, policy, dutch=False)
    return "\n".join(
        [
            f"Betreft: uw verzoek {ref} ({kind})",
            "",
            "Wij hebben uw verzoek uitgevoerd. Dit hebben wij gedaan:",
            *nl,
            "Verwerkers die wij hierover hebben geïnformeerd (AVG art. 19): "
            + (", ".join(informed) or "geen"),
            "Bent u het niet eens met de afhandeling? U kunt een klacht indienen bij de "
            f"{AUTHORITY}.",
            "",
            f"Subject: your request {ref} ({kind})",
            "",
            "We have carried out your request. This is what we did:",
            *en,
            "Processors we informed (GDPR Art. 19): " + (", ".join(informed) or "none"),
            f"If you disagree, you can complain to the {AUTHORITY}.",
            "",
            "KlantenScoren | Madoerastraat 5 | 2585 VA Den Haag | team@klantengeneratieexperts.nl",
        ]
    )


def rejected(ref: str, kind: str) -> str:
    return "\n".join(
        [
            f"Betreft: uw verzoek {ref} ({kind})",
            "Na beoordeling hebben wij uw verzoek niet (volledig) uitgevoerd. [Reden invullen.]",
            f"U kunt een klacht indienen bij de {AUTHORITY}.",
            "",
            f"Subject: your request {ref} ({kind})",
            "After review we did not carry out your request (in full). [State the reason.]",
            f"You can complain to the {AUTHORITY}.",
        ]
    )


def write(ref: str, text: str) -> str:
    return write_confirmation(ref, text)
