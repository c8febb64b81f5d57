"""The inventory's readable end, built from the run's evidence (what was recorded, not what a task
believed): the task-log table per source x field x category, and an HTML section with the
auditor report's look (Jinja2, autoescaped; `templates/inventory/`). Counts, names and refs only.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ks_privacy.audit_db import connection
from ks_privacy.discovery.inventory import FAILING, Finding
from ks_privacy.discovery.sampling import Sample
from ks_privacy.policy import RetentionPolicy

EVENTS = ("inventory.completed", "inventory.field", "inventory.finding")
_UNSAFE = re.compile(r"[^\w .:/#=+,()\[\]-]")


def safe_name(name: str) -> str:
    """A field name as evidence may hold it (an account's custom field titles are free text)."""
    return _UNSAFE.sub("_", name)[:150]


@dataclass
class FieldRow:
    field: str
    rule: str
    values: int
    found: dict[str, int]


@dataclass
class SourceSection:
    source: str
    processor: str
    records: int = 0
    sample: str = "every record"
    fields: list[FieldRow] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


@dataclass
class InventoryReport:
    run_id: str
    day: date
    statement_version: str
    sources: list[SourceSection]

    @property
    def findings(self) -> list[Finding]:
        return [f for s in self.sources for f in s.findings]

    @property
    def failing(self) -> list[Finding]:
        return [f for f in self.findings if f.failing]

    def summary(self, policy: RetentionPolicy) -> dict:
        """The same numbers as data (the JSON next to the HTML; nothing personal)."""
        return {
            "run_id": self.run_id,
            "day": self.day.isoformat(),
            "statement_version": self.statement_version,
            "ok": not self.failing,
            "sources": [
                {
                    "source": s.source,
                    "records": s.records,
                    "sample": s.sample,
                    "fields": [asdict(f) for f in s.fields],
                    "findings": [
                        {**asdict(f), "text": f.describe(policy), "failing": f.failing}
                        for f in s.findings
                    ],
                }
                for s in self.sources
            ],
        }


def build(
    engine: Engine, policy: RetentionPolicy, dag_id: str, run_id: str, day: date
) -> InventoryReport:
    marks = ", ".join(f"'{e}'" for e in EVENTS)
    with connection(engine) as conn:
        rows = conn.execute(
            sa.text(
                "SELECT event, outcome, source, record_ref, categories, rule, details "
                f"FROM ks_evidence WHERE dag_id = :d AND run_id = :r AND event IN ({marks}) "
                "ORDER BY seq"
            ),
            {"d": dag_id, "r": run_id},
        ).all()
    sections: dict[str, SourceSection] = {}
    for event, outcome, source, ref, categories, rule, details_text in rows:
        details = json.loads(details_text)
        processor = policy.processors[policy.sources[source].processor].label
        section = sections.setdefault(source, SourceSection(source, processor))
        if event == "inventory.completed":
            section.records = int(details["records"])
            section.sample = Sample(details["sample_size"], details["account_total"]).describe()
        elif event == "inventory.field":
            found = {k: int(v) for k, v in details.items() if k not in ("field", "values")}
            section.fields.append(FieldRow(details["field"], rule, int(details["values"]), found))
        else:
            category = categories or None
            section.findings.append(
                Finding(
                    outcome, source, details["field"], category, int(details["count"]), rule, ref
                )
            )
    ordered = [sections[s] for s in policy.sources if s in sections]
    return InventoryReport(run_id, day, policy.statement_version, ordered)


def render_lines(report: InventoryReport, policy: RetentionPolicy) -> list[str]:
    """The task-log table: one line per source x field x category found, then the findings."""
    header = f"{'source':<18}{'field':<28}{'mapped as':<22}{'values':>8}  {'category':<13}{'in':>8}"
    lines = [f"Data inventory, statement {report.statement_version}", header, "-" * len(header)]
    for section in report.sources:
        lines.append(f"{section.source:<18}({section.records} records: {section.sample})")
        for row in section.fields:
            found = sorted(row.found.items()) or [("-", 0)]
            for i, (category, n) in enumerate(found):
                lead = (
                    f"{section.source:<18}{row.field[:27]:<28}{row.rule[:21]:<22}{row.values:>8}"
                    if i == 0
                    else " " * 76
                )
                lines.append(f"{lead}  {category:<13}{n if n else '':>8}")
    for finding in report.findings:
        mark = "FAIL" if finding.failing else "note"
        lines.append(f"{mark} {finding.kind}: {finding.describe(policy)}")
    if not report.findings:
        lines.append("no findings: every field holds what the statement and the policy say")
    return lines


def render_html(report: InventoryReport, policy: RetentionPolicy) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("ks_privacy", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    return env.get_template("inventory/report.html.j2").render(
        report=report, policy=policy, failing_kinds=FAILING
    )


@dataclass(frozen=True)
class Written:
    html: str
    json: str


def write(report: InventoryReport, policy: RetentionPolicy, base=None) -> Written:
    """`inventory/inventory-<day>.html` and `.json` under the auditor reports' base (an
    ObjectStoragePath or URL; default: Airflow variable `ks_audit_report_base`), and `latest.*`."""
    from airflow.sdk import ObjectStoragePath

    from ks_privacy.audit import store

    root = store.report_base() if base is None else ObjectStoragePath(str(base))
    folder = root / "inventory"
    folder.mkdir(parents=True, exist_ok=True)
    html_text = render_html(report, policy)
    json_text = json.dumps(report.summary(policy), indent=2, sort_keys=True)
    name = f"inventory-{report.day.isoformat()}"
    for stem in (name, "latest"):
        (folder / f"{stem}.html").write_text(html_text, encoding="utf-8")
        (folder / f"{stem}.json").write_text(json_text, encoding="utf-8")
    return Written(str(folder / f"{name}.html"), str(folder / f"{name}.json"))
