"""The retention policy: the privacy statement's promises as validated data, and the pure rule
that turns a record's facts into a decision.

Nothing here does IO except `load_policy`, which reads the YAML file once. `decide` is pure, so a
rerun of the same DAG run (same reference time) decides the same way.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ks_privacy.discovery import vocabulary
from ks_privacy.resources import DEFAULT_POLICY
from ks_privacy.timeutil import to_utc

Category = Literal["name", "gender", "address", "phone", "email", "ip_address", "website_activity"]
SourceName = Literal["activecampaign", "google_contacts", "tawk", "website_activity"]


class PolicyError(ValueError):
    """The policy file is unusable; the message names the key, the line and the problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CategoryTerm(_Strict):
    label: str
    term_days: Annotated[int, Field(ge=1, le=3650)]
    published: bool
    choice: str | None = None

    @model_validator(mode="after")
    def _unpublished_terms_say_why(self) -> CategoryTerm:
        if not self.published and not self.choice:
            raise ValueError("a term that the statement does not publish needs a `choice` text")
        return self


class Processor(_Strict):
    label: str
    categories: Annotated[list[Category], Field(min_length=1)]
    # Categories found at this processor that the statement does not list there, each with the
    # reason it is accepted until the statement is amended. The inventory still reports them.
    acknowledged: dict[str, Annotated[str, Field(min_length=10)]] = {}


class FreeText(_Strict):
    """A field people type into: personal data inside it is redacted in place when its term is
    due (`redact`), or the record is left for a person (`flag`)."""

    free_text: Literal["redact", "flag"]


def _field_rule(value: Any) -> Any:
    """One clear message for a field rule that is none of the three kinds."""
    if isinstance(value, str) and value in (*get_args(Category), vocabulary.NONE):
        return value
    if isinstance(value, dict) and value.get("free_text") in ("redact", "flag") and len(value) == 1:
        return value
    raise ValueError(
        f"{value!r} is not a field rule: give a category ({', '.join(get_args(Category))}), "
        "`none` (no personal data) or `{free_text: redact}` / `{free_text: flag}`"
    )


FieldRule = Annotated[Category | Literal["none"] | FreeText, BeforeValidator(_field_rule)]


class Guard(_Strict):
    max_fraction: Annotated[float, Field(gt=0, le=1)]
    max_count: Annotated[int, Field(ge=1)]


class LegalHold(_Strict):
    tag: str | None = None
    contact_group: str | None = None


class SourcePolicy(_Strict):
    processor: str
    connection: Annotated[str, Field(min_length=1)]
    clock: Annotated[list[str], Field(min_length=1)]
    legal_hold: LegalHold = LegalHold()
    guard: Guard
    enabled: bool = True
    # field -> what it holds (see ks_privacy.discovery.vocabulary for the names); empty: the
    # adapter's own fields as the statement lists them
    fields: dict[str, FieldRule] = {}


class HumanSteps(_Strict):
    """How long a person has to answer a human step, and when people hear of a deadline. Who
    answers and who is told is not policy: see ks_privacy.notify.people (variable ks_people)."""

    approval_timeout_days: Annotated[float, Field(gt=0, le=28)] = 7
    manual_confirmation_timeout_days: Annotated[float, Field(gt=0, le=28)] = 3
    deadline_warning_days: Annotated[int, Field(ge=1, le=27)] = 7


class Intake(_Strict):
    """The privacy mailbox (ks_request_intake, ks_request_identity): what happens to the ID
    copy once a person confirmed the identity (`strip`: the message is replaced by a copy
    without its attachments; `delete`: the message goes), how long ops have to confirm it
    (reminded every `identity_reminder_days`) before the request closes as
    `identity_not_verified`, how long a request's messages stay after it closed, and the size
    above which a message is left to a person unread (a mailbox bomb is not downloaded)."""

    folder: Annotated[str, Field(min_length=1, max_length=200)] = "INBOX"
    id_copy: Literal["strip", "delete"] = "strip"
    identity_timeout_days: Annotated[float, Field(gt=0, le=27)] = 14
    identity_reminder_days: Annotated[float, Field(gt=0, le=27)] = 2
    mailbox_retention_days: Annotated[int, Field(ge=0, le=365)] = 30
    max_message_mb: Annotated[float, Field(gt=0, le=100)] = 20  # larger: a person reads it


class RetentionPolicy(_Strict):
    statement_version: str
    mode: Literal["enforce", "dry_run"]
    lead_time_days: Annotated[int, Field(ge=0, le=7)]
    request_deadline_days: Annotated[int, Field(ge=1, le=28)]
    export_retention_days: Annotated[int, Field(ge=1, le=180)]
    timezone: str = "Europe/Amsterdam"  # the company's calendar: what "today" means for requests
    categories: dict[Category, CategoryTerm]
    processors: dict[str, Processor]
    sources: dict[SourceName, SourcePolicy]
    human_steps: HumanSteps = HumanSteps()
    intake: Intake = Intake()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(value)
        except Exception:  # ZoneInfo raises several kinds for a bad name
            raise ValueError("must be an IANA time zone name such as Europe/Amsterdam") from None
        return value

    @property
    def dry_run_by_default(self) -> bool:
        return self.mode == "dry_run"

    def enabled_sources(self) -> list[str]:
        return [name for name, source in self.sources.items() if source.enabled]

    def term(self, category: str) -> timedelta:
        return timedelta(days=self.categories[category].term_days)

    def unpublished_categories(self) -> list[str]:
        """Categories the statement lists without a published term (gender): a gap to report."""
        return [name for name, term in self.categories.items() if not term.published]

    def report_lines(self) -> list[str]:
        """The statement's retention table as the sweep applies it, for logs and the demo."""
        lines = [
            f"Retention policy (statement {self.statement_version}, mode {self.mode}, "
            f"lead time {self.lead_time_days} d)",
            f"{'category':<18}{'term':>7}  {'published':<10}held by",
        ]
        for name, term in self.categories.items():
            holders = [p for p, proc in self.processors.items() if name in proc.categories]
            lines.append(
                f"{name:<18}{term.term_days:>5} d  {'yes' if term.published else 'NO':<10}"
                f"{', '.join(holders) or '-'}"
            )
        for name in self.unpublished_categories():
            lines.append(f"gap: {name} has no published term; {self.categories[name].choice}")
        return lines


class Action(enum.StrEnum):
    KEEP = "keep"
    REDACT = "redact"
    ERASE = "erase"
    HOLD = "hold"
    NO_CLOCK = "no_clock"


@dataclass(frozen=True)
class Facts:
    """What the policy needs to know about one record: no personal values, only their kinds."""

    categories: frozenset[str]
    last_activity: datetime | None
    held: bool = False


@dataclass(frozen=True)
class Decision:
    action: Action
    categories: tuple[str, ...]  # the categories the action removes (or would, when held)
    rule: str
    age_days: int | None


def decide(policy: RetentionPolicy, facts: Facts, now: datetime) -> Decision:
    """Decide what to do with one record at reference time `now` (the run's logical date).

    A category is due when its term ends before the next sweep (`now + lead time`). All present
    categories due: erase the record. Some due: redact those. Legal hold wins over both.
    """
    if facts.last_activity is None:
        return Decision(Action.NO_CLOCK, (), "no-timestamp", None)
    now = to_utc(now)
    last_activity = to_utc(facts.last_activity)
    age = now - last_activity
    horizon = now + timedelta(days=policy.lead_time_days)
    unknown = sorted(c for c in facts.categories if c not in policy.categories)
    if unknown:
        raise PolicyError(f"record carries categories the policy does not know: {unknown}")
    due = sorted(c for c in facts.categories if last_activity + policy.term(c) <= horizon)
    age_days = age.days
    if not due:
        return Decision(Action.KEEP, (), "within-term", age_days)
    rule = ",".join(f"{c}>{policy.categories[c].term_days}d" for c in due)
    if facts.held:
        return Decision(Action.HOLD, tuple(due), f"legal-hold({rule})", age_days)
    if set(due) == set(facts.categories):
        return Decision(Action.ERASE, tuple(due), rule, age_days)
    return Decision(Action.REDACT, tuple(due), rule, age_days)


def last_activity(timestamps: dict[str, datetime | None], clock: list[str]) -> datetime | None:
    """The latest of the clock timestamps a source provides: where the retention term starts."""
    present = [to_utc(timestamps[name]) for name in clock if timestamps.get(name) is not None]
    return max(present) if present else None


# ---- loading ---------------------------------------------------------------------------------


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses duplicate keys instead of silently keeping the last one."""

    def construct_mapping(self, node, deep=False):
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise PolicyError(
                    f"line {key_node.start_mark.line + 1}: duplicate key {key!r} "
                    "(a later value would silently replace the earlier one)"
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _line_of(root: yaml.Node | None, loc: tuple) -> int | None:
    """Line number (1-based) of the YAML node at the pydantic error location, or its parent."""
    node, line = root, (root.start_mark.line + 1 if root else None)
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == str(part)), None)
            if match is None:
                break
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line


def _cross_problems(policy: RetentionPolicy) -> list[tuple[tuple, str]]:
    """Problems between keys that a per-field schema cannot see."""
    problems = []
    for name, processor in policy.processors.items():
        for i, category in enumerate(processor.categories):
            if category not in policy.categories:
                problems.append(
                    (
                        ("processors", name, "categories", i),
                        f"category {category!r} is held here but has no entry under `categories`",
                    )
                )
        problems += _acknowledged_problems(name, processor)
    for name in get_args(SourceName):
        if name not in policy.sources:
            problems.append(
                (
                    ("sources",),
                    f"source {name!r} is missing: list every source, and switch one off with "
                    "`enabled: false` (a source is never dropped by leaving it out, or by a "
                    "truncated file)",
                )
            )
    for name, source in policy.sources.items():
        if source.processor not in policy.processors:
            problems.append(
                (
                    ("sources", name, "processor"),
                    f"{source.processor!r} is not declared under `processors`",
                )
            )
        problems += _field_problems(policy, name, source)
    steps = policy.human_steps
    if steps.approval_timeout_days + steps.manual_confirmation_timeout_days >= (
        policy.request_deadline_days
    ):
        problems.append(
            (
                ("human_steps", "approval_timeout_days"),
                "approval and manual confirmation time-outs together must end before the "
                f"{policy.request_deadline_days}-day request deadline",
            )
        )
    if policy.intake.identity_timeout_days >= policy.request_deadline_days:
        problems.append(
            (
                ("intake", "identity_timeout_days"),
                f"must end before the {policy.request_deadline_days}-day request deadline "
                "(the clock runs from receipt, identity check included)",
            )
        )
    shortest = min((term.term_days for term in policy.categories.values()), default=0)
    if policy.lead_time_days >= shortest:
        problems.append(
            (
                ("lead_time_days",),
                f"{policy.lead_time_days} must be shorter than the shortest term ({shortest} days)",
            )
        )
    return problems


def _acknowledged_problems(name: str, processor: Processor) -> list[tuple[tuple, str]]:
    known = set(get_args(Category)) | set(vocabulary.DETECTED)
    problems = []
    for category in processor.acknowledged:
        loc = ("processors", name, "acknowledged", category)
        if category in vocabulary.NEVER_KEPT:
            problems.append((loc, f"{category} may never be kept, so it cannot be acknowledged"))
        elif category not in known:
            problems.append((loc, f"{category!r} is not a category ({', '.join(sorted(known))})"))
        elif category in processor.categories:
            problems.append((loc, f"{category} is listed for {name} already"))
    return problems


def _field_problems(policy: RetentionPolicy, name: str, source: SourcePolicy):
    problems = []
    for field, rule in source.fields.items():
        loc = ("sources", name, "fields", field)
        reason = vocabulary.field_problem(name, field)
        if reason:
            problems.append((loc, reason))
        elif isinstance(rule, str) and rule != vocabulary.NONE and rule not in policy.categories:
            problems.append((loc, f"category {rule!r} has no entry under `categories`"))
        elif isinstance(rule, FreeText):
            missing = sorted(vocabulary.TERM_DETECTED - set(policy.categories))
            if missing:
                problems.append(
                    (
                        loc,
                        "free text is kept to the terms of "
                        f"{', '.join(sorted(vocabulary.TERM_DETECTED))}: `categories` needs "
                        f"{', '.join(missing)}",
                    )
                )
    return problems


def _describe(problems: list[tuple[tuple, str]], root: yaml.Node | None, path: Path) -> str:
    lines = []
    for loc, message in problems:
        key = ".".join(str(p) for p in loc) or "(top level)"
        lines.append(f"{path.name}, line {_line_of(root, loc)}, key `{key}`: {message}")
    return "invalid retention policy:\n  " + "\n  ".join(lines)


def _schema_problems(error: ValidationError) -> list[tuple[tuple, str]]:
    return [
        (
            tuple(p for p in item["loc"] if p != "[key]"),
            item["msg"].removeprefix("Value error, "),
        )
        for item in error.errors()
    ]


def parse_policy(text: str, path: Path | Traversable = DEFAULT_POLICY) -> RetentionPolicy:
    """Parse and validate policy YAML; every problem raises PolicyError naming key and line."""
    try:
        root = yaml.compose(text, Loader=_UniqueKeyLoader)
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)
    except PolicyError as exc:
        raise PolicyError(f"invalid retention policy: {path.name}, {exc}") from None
    except yaml.YAMLError as exc:
        raise PolicyError(
            f"invalid retention policy: {path.name} is not valid YAML: {exc}"
        ) from None
    if not isinstance(data, dict):
        raise PolicyError(f"invalid retention policy: {path.name} must be a mapping of keys")
    try:
        policy = RetentionPolicy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(_describe(_schema_problems(exc), root, path)) from None
    problems = _cross_problems(policy)
    if problems:
        raise PolicyError(_describe(problems, root, path))
    return policy


def load_policy(path: str | Path | None = None) -> RetentionPolicy:
    """Read the policy file: `path`, else $KS_POLICY_PATH, else the default shipped in the
    package (`ks_privacy/data/retention_policy.yaml`, the statement as published)."""
    import os

    chosen = path or os.environ.get("KS_POLICY_PATH")
    path = Path(chosen) if chosen else DEFAULT_POLICY
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot read the retention policy at {path}: {exc.strerror}") from None
    return parse_policy(text, path)
