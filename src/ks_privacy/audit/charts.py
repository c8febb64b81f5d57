"""The report's charts: matplotlib figures rendered to PNG and embedded as base64 data URIs, so
the HTML needs nothing from outside. `Figure` is used directly (never pyplot): no global state,
no display backend, safe in a task or a web worker thread. It is imported when a chart is drawn,
as every Airflow task process loads the plugins that import this module."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from datetime import date

ACTION_COLOURS = {
    "erased": "#1b6ca8",
    "redacted": "#6fb1e0",
    "held": "#e3a21a",
    "failed": "#c0392b",
}
VERDICT_COLOURS = {
    "on time": "#2e8b57",
    "open": "#6fb1e0",
    "due soon": "#e3a21a",
    "late": "#c0392b",
    "overdue": "#8e0000",
}


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=96, bbox_inches="tight", metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def activity_chart(
    days: Sequence[date], per_source: Mapping[str, Mapping[date, Mapping[str, int]]]
) -> str | None:
    """One panel per source: stacked bars per day of erased / redacted / held / failed."""
    sources = sorted(per_source)
    if not sources or not days:
        return None
    from matplotlib.figure import Figure  # loaded only when a chart is drawn

    fig = Figure(figsize=(9, 1.9 * len(sources) + 0.6))
    axes = fig.subplots(len(sources), 1, sharex=True, squeeze=False)[:, 0]
    x = list(range(len(days)))
    for ax, source in zip(axes, sources, strict=True):
        bottom = [0] * len(days)
        for action, colour in ACTION_COLOURS.items():
            values = [per_source[source].get(day, {}).get(action, 0) for day in days]
            ax.bar(x, values, bottom=bottom, color=colour, label=action, width=0.8)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.set_ylabel(source, rotation=0, ha="right", va="center", fontsize=9)
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(labelsize=8)
    step = max(1, len(days) // 12)
    axes[-1].set_xticks(x[::step], [d.strftime("%d %b") for d in days][::step], fontsize=8)
    axes[0].legend(ncol=4, fontsize=8, loc="lower left", bbox_to_anchor=(0, 1.02), frameon=False)
    return _png(fig)


def retention_chart(rows: Sequence[tuple[str, int, int | None, bool]]) -> str | None:
    """Per category: the oldest value still held (bar) against the published term (tick).
    rows: (label, term_days, oldest_days or None, past its term)."""
    if not rows:
        return None
    from matplotlib.figure import Figure  # loaded only when a chart is drawn

    fig = Figure(figsize=(9, 0.45 * len(rows) + 1.0))
    ax = fig.subplots()
    y = list(range(len(rows)))
    for i, (_label, term, oldest, breach) in enumerate(rows):
        if oldest is not None:
            ax.barh(i, oldest, color="#c0392b" if breach else "#2e8b57", height=0.6)
            ax.text(oldest + 2, i, f"{oldest} d", va="center", fontsize=8)
        else:
            ax.text(2, i, "not measured", va="center", fontsize=8, color="#555555")
        ax.plot([term, term], [i - 0.4, i + 0.4], color="#222222", linewidth=2)
    ax.set_yticks(y, [r[0] for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, max(max(r[1] for r in rows), max((r[2] or 0) for r in rows)) * 1.15)
    ax.set_xlabel(
        "days (bar: oldest value still held; black tick: the statement's term)", fontsize=8
    )
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8)
    return _png(fig)


def requests_chart(rows: Sequence[tuple[str, int, str]], deadline_days: int) -> str | None:
    """Per request: days from receipt to answer (or to today while open), the limit as a line.
    rows: (request ref, days, verdict)."""
    if not rows:
        return None
    from matplotlib.figure import Figure  # loaded only when a chart is drawn

    fig = Figure(figsize=(9, 0.35 * len(rows) + 1.0))
    ax = fig.subplots()
    for i, (_ref, days, verdict) in enumerate(rows):
        ax.barh(i, days, color=VERDICT_COLOURS.get(verdict, "#888888"), height=0.6)
        ax.text(days + 0.3, i, f"{days} d ({verdict})", va="center", fontsize=8)
    ax.axvline(deadline_days, color="#222222", linestyle="--", linewidth=1)
    ax.text(deadline_days, -0.9, f" {deadline_days}-day limit", fontsize=8, va="bottom")
    ax.set_yticks(list(range(len(rows))), [r[0] for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("days from receipt to answer (open requests: to the report date)", fontsize=8)
    ax.set_xlim(0, max(deadline_days + 6, max(r[1] for r in rows) + 8))
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8)
    return _png(fig)
