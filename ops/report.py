"""Render a monitoring report: the violations as a table, and baseline vs current distributions per feature.

Output, for people rather than programs:

* a text table of the violations (printed by the command);
* ``report.png``: one small panel per feature, the baseline's distribution filled, the execution's drawn over
  it; a violated feature's title is red and names its check types;
* ``report.html``: one self-contained page (the PNG embedded as base64, no external files or scripts) with
  the violations table, a per-feature table with the numbers behind the panels, and the picture. Every text
  that came from a file is HTML-escaped: feature names and descriptions are data, not markup.

Why density, not counts: the baseline and an execution have different row counts and different bucket widths
(the analyzer's KLL buckets split each side's own min..max into equal parts), so each side is drawn as share
of rows per unit of the feature; the two shapes are then comparable. A side whose values are all equal has no
width to spread over and is drawn as a vertical line at that value.

Nothing here assumes both sides know the same features: a feature that only one side has, that has no
distribution (high-cardinality strings), or that only a violation names, gets a panel saying so.
"""

from __future__ import annotations

import base64
import html
import io
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lambdas.violation_metric.violations import Violation

from .statistics import DatasetStatistics, FeatureConstraint, FeatureStatistics
from .tables import format_table

__all__ = [
    "FeatureView",
    "ReportFiles",
    "ReportInputs",
    "feature_views",
    "format_violations_table",
    "render_html",
    "render_png",
    "write_report",
]

BASELINE_COLOR = "#4c72b0"
CURRENT_COLOR = "#dd8452"
VIOLATED_COLOR = "#c0392b"
#: Categorical panels show this many values, the ones with the largest share on either side.
TOP_CATEGORIES = 8
_PANEL_WIDTH_IN = 3.6
_AXES_HEIGHT_IN = 2.0
#: Between two rows: the upper panel's tick labels (rotated for categories) and caption, the lower one's title.
_GAP_IN = 1.05
_TOP_IN = 0.85
_BOTTOM_IN = 0.95
_DPI = 100


@dataclass(frozen=True)
class ReportInputs:
    """Everything a report is drawn from; any part may be missing.

    Attributes:
        baseline: The baseline's statistics.json, or ``None`` when there is none.
        current: The execution's statistics.json, or ``None``.
        constraints: The baseline's constraints by feature name (empty when there is no constraints.json).
        violations: The execution's violations; ``None`` when there is no violations file (shown as such,
            never as "no violations").
        sources: Where each file came from (a label and a path or S3 URI), listed on the page.
        notes: Anything the reader should know (a missing file, a fallback), listed on the page.
        title: The page's heading.
    """

    baseline: DatasetStatistics | None
    current: DatasetStatistics | None
    constraints: Mapping[str, FeatureConstraint] = field(default_factory=dict)
    violations: tuple[Violation, ...] | None = None
    sources: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    title: str = "Model Monitor report"


@dataclass(frozen=True)
class FeatureView:
    """One feature as the report shows it: both sides' statistics, its constraint and its violations."""

    name: str
    baseline: FeatureStatistics | None
    current: FeatureStatistics | None
    constraint: FeatureConstraint | None
    violations: tuple[Violation, ...]

    @property
    def violated(self) -> bool:
        return bool(self.violations)

    @property
    def check_types(self) -> tuple[str, ...]:
        """The distinct check types that failed, in report order."""
        return tuple(dict.fromkeys(violation.constraint_check_type for violation in self.violations))


@dataclass(frozen=True)
class ReportFiles:
    """Where the report was written."""

    png: Path
    html: Path


def feature_views(inputs: ReportInputs) -> list[FeatureView]:
    """Every feature any input names, once: baseline order first, then the execution's, the constraints', and
    last the features only a violation names (a custom container's own metric, a column the baseline never saw).
    """
    baseline = inputs.baseline.by_name() if inputs.baseline else {}
    current = inputs.current.by_name() if inputs.current else {}
    violations = inputs.violations or ()
    names = dict.fromkeys([*baseline, *current, *inputs.constraints, *(v.feature_name for v in violations)])
    return [
        FeatureView(
            name=name,
            baseline=baseline.get(name),
            current=current.get(name),
            constraint=inputs.constraints.get(name),
            violations=tuple(v for v in violations if v.feature_name == name),
        )
        for name in names
    ]


def _grouped_violations(violations: Sequence[Violation]) -> list[tuple[Violation, int]]:
    """Identical violations once, with how often they occur (a custom container may repeat one per record)."""
    counts: dict[tuple[str, str, str], tuple[Violation, int]] = {}
    for violation in violations:
        key = (violation.feature_name, violation.constraint_check_type, (violation.description or "").strip())
        first, count = counts.get(key, (violation, 0))
        counts[key] = (first, count + 1)
    return list(counts.values())


def format_violations_table(violations: Sequence[Violation] | None) -> str:
    """The violations as a text table (identical rows merged, with a count), or a line saying there are none."""
    if violations is None:
        return "no violations file: the execution reported none, or wrote it elsewhere"
    if not violations:
        return "no violations"
    features = len({violation.feature_name for violation in violations})
    rows = [
        [violation.feature_name, violation.constraint_check_type, str(count), (violation.description or "-").strip()]
        for violation, count in _grouped_violations(violations)
    ]
    table = format_table(["FEATURE", "CHECK", "COUNT", "DESCRIPTION"], rows)
    return f"{len(violations)} violation(s) on {features} feature(s)\n{table}"


# --- the picture ------------------------------------------------------------------------------------------


def _number(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _draw_numerical(ax: Any, stats: FeatureStatistics, *, color: str, filled: bool, label: str) -> bool:
    """Draw one side's KLL histogram as a density; returns whether anything was drawn."""
    buckets = stats.buckets
    if not buckets:
        return False
    low, high = buckets[0].lower, max(bucket.upper for bucket in buckets)
    total = sum(bucket.count for bucket in buckets)
    if total <= 0:
        return False
    if high <= low:  # every value equal: no width to spread a density over
        ax.axvline(low, color=color, linewidth=2.5 if filled else 1.6, alpha=0.6 if filled else 1.0, label=label)
        return True
    contiguous = all(
        abs(previous.upper - following.lower) <= 1e-9 * max(1.0, abs(following.lower))
        for previous, following in itertools.pairwise(buckets)
    )
    densities = [
        bucket.count / total / (bucket.upper - bucket.lower) if bucket.upper > bucket.lower else 0.0
        for bucket in buckets
    ]
    if contiguous:
        edges = [buckets[0].lower, *(bucket.upper for bucket in buckets)]
        if filled:
            ax.stairs(densities, edges, fill=True, color=color, alpha=0.35, label=label)
        else:
            ax.stairs(densities, edges, color=color, linewidth=1.6, label=label)
    else:  # not expected from the analyzer, but drawable: one bar per bucket
        ax.bar(
            [bucket.lower for bucket in buckets],
            densities,
            width=[bucket.upper - bucket.lower for bucket in buckets],
            align="edge",
            color=color if filled else "none",
            edgecolor=color,
            alpha=0.35 if filled else 1.0,
            label=label,
        )
    return True


def _draw_categorical(ax: Any, view: FeatureView) -> tuple[bool, str]:
    """Grouped bars of the values' shares; returns whether anything was drawn and a caption."""
    shares: list[dict[str, float]] = []
    for stats in (view.baseline, view.current):
        categories = stats.categories if stats else ()
        total = sum(category.count for category in categories)
        shares.append({c.value: c.count / total for c in categories} if total > 0 else {})
    values = sorted(set(shares[0]) | set(shares[1]), key=lambda v: -max(shares[0].get(v, 0.0), shares[1].get(v, 0.0)))
    if not values:
        return False, ""
    shown = values[:TOP_CATEGORIES]
    positions = range(len(shown))
    if shares[0]:
        ax.bar(
            [p - 0.2 for p in positions],
            [shares[0].get(v, 0.0) for v in shown],
            width=0.4,
            color=BASELINE_COLOR,
            alpha=0.6,
        )
    if shares[1]:
        ax.bar([p + 0.2 for p in positions], [shares[1].get(v, 0.0) for v in shown], width=0.4, color=CURRENT_COLOR)
    ax.set_xticks(list(positions))
    ax.set_xticklabels([v if len(v) <= 10 else v[:9] + "…" for v in shown], rotation=40, ha="right", fontsize=6)
    caption = f"top {len(shown)} of {len(values)} values" if len(values) > len(shown) else f"{len(values)} value(s)"
    return True, caption + ", share of rows"


def _caption(view: FeatureView) -> str:
    """The line under a numerical panel: mean and missing share, baseline → current."""
    base, cur = view.baseline, view.current
    if base and cur:
        return (
            f"mean {_number(base.mean)} → {_number(cur.mean)}, "
            f"missing {_percent(_missing(base))} → {_percent(_missing(cur))}"
        )
    side = base or cur
    assert side is not None
    return f"mean {_number(side.mean)}, missing {_percent(_missing(side))}"


def _missing(stats: FeatureStatistics) -> float | None:
    completeness = stats.completeness
    return None if completeness is None else 1.0 - completeness


def _message(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=8, color="#555555", transform=ax.transAxes, wrap=True)
    ax.set_xticks([])


def _draw_panel(ax: Any, view: FeatureView) -> None:
    present = [stats for stats in (view.baseline, view.current) if stats is not None]
    side_note = ""
    if view.baseline is None and view.current is not None:
        side_note = "only in current"
    elif view.current is None and view.baseline is not None:
        side_note = "only in baseline"

    if not present:
        _message(ax, "no statistics on either side")
        caption = ""
    elif all(stats.kind == "numerical" for stats in present):
        drawn = False
        if view.baseline:
            drawn |= _draw_numerical(ax, view.baseline, color=BASELINE_COLOR, filled=True, label="baseline")
        if view.current:
            drawn |= _draw_numerical(ax, view.current, color=CURRENT_COLOR, filled=False, label="current")
        if not drawn:
            _message(ax, "no distribution")
        caption = _caption(view)
    elif all(stats.kind == "string" for stats in present):
        drawn, caption = _draw_categorical(ax, view)
        if not drawn:
            distinct = max((stats.distinct_count or 0.0) for stats in present)
            _message(ax, f"no distribution\n(high cardinality, ~{distinct:.0f} distinct)")
    else:
        kinds = " / ".join(f"{stats.kind} ({stats.inferred_type or '?'})" for stats in present)
        _message(ax, f"types differ:\n{kinds}")
        caption = ""

    ax.set_yticks([])
    ax.tick_params(axis="x", labelsize=6)
    ax.set_xlabel("; ".join(part for part in (side_note, caption) if part), fontsize=6.5)
    name = view.name if len(view.name) <= 36 else view.name[:35] + "…"
    if view.violated:
        ax.set_title(f"{name}\n{', '.join(view.check_types)}", fontsize=8, color=VIOLATED_COLOR, fontweight="bold")
        for spine in ax.spines.values():
            spine.set_edgecolor(VIOLATED_COLOR)
            spine.set_linewidth(1.8)
    else:
        ax.set_title(name, fontsize=8)


def render_png(views: Sequence[FeatureView], *, title: str) -> bytes:
    """The small multiples as PNG bytes, drawn with the Agg backend (no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # imported here: slow, and only `report` draws
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    count = max(1, len(views))
    columns = min(4, count)
    rows = -(-count // columns)
    # A fixed layout, in inches: the constrained layout engine would take as long as drawing everything twice.
    width = _PANEL_WIDTH_IN * columns
    height = _TOP_IN + rows * _AXES_HEIGHT_IN + (rows - 1) * _GAP_IN + _BOTTOM_IN
    figure = Figure(figsize=(width, height), dpi=_DPI)
    FigureCanvasAgg(figure)
    figure.subplots_adjust(
        left=0.25 / width,
        right=1 - 0.25 / width,
        top=1 - _TOP_IN / height,
        bottom=_BOTTOM_IN / height,
        hspace=_GAP_IN / _AXES_HEIGHT_IN,
        wspace=0.12,
    )
    axes = figure.subplots(rows, columns, squeeze=False).flatten()
    for ax, view in zip(axes, views, strict=False):
        _draw_panel(ax, view)
    for ax in axes[len(views) :]:
        ax.set_axis_off()
    if not views:
        _message(axes[0], "no features in any input")
    violated = sum(1 for view in views if view.violated)
    figure.suptitle(
        f"{title}: {len(views)} feature(s), {violated} violated (red)", fontsize=11, y=1 - 0.15 / height, va="top"
    )
    figure.legend(
        handles=[
            Patch(facecolor=BASELINE_COLOR, alpha=0.35, label="baseline"),
            Line2D([0], [0], color=CURRENT_COLOR, linewidth=1.6, label="current (execution)"),
        ],
        loc="lower center",
        bbox_to_anchor=(0.5, 0.05 / height),
        ncols=2,
        fontsize=8,
        frameon=False,
    )
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


# --- the page ---------------------------------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.85rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
tr.violated td { background: #fdecea; }
td.flag { color: #c0392b; font-weight: bold; }
.notes li { color: #8a5a00; }
img { max-width: 100%; border: 1px solid #ddd; }
code { font-size: 0.85rem; }
"""


def _cell(text: object, css: str = "") -> str:
    attribute = f' class="{css}"' if css else ""
    return f"<td{attribute}>{html.escape(str(text))}</td>"


def _type_of(stats: FeatureStatistics | None) -> str:
    return "-" if stats is None else (stats.inferred_type or stats.kind)


def _mean(stats: FeatureStatistics | None) -> str:
    return "-" if stats is None else _number(stats.mean)


def _range(stats: FeatureStatistics | None) -> str:
    if stats is None or (stats.minimum is None and stats.maximum is None):
        return "-"
    return f"{_number(stats.minimum)} .. {_number(stats.maximum)}"


def _feature_row(view: FeatureView) -> str:
    if view.violated:
        flag = _cell("violated: " + ", ".join(view.check_types), "flag")
    else:
        flag = _cell("ok" if view.baseline or view.current else "no statistics")
    cells = [
        _cell(view.name),
        flag,
        _cell(f"{_type_of(view.baseline)} → {_type_of(view.current)}"),
        _cell(f"{_mean(view.baseline)} → {_mean(view.current)}"),
        _cell(f"{_range(view.baseline)} → {_range(view.current)}"),
        _cell(
            f"{_percent(view.baseline.completeness) if view.baseline else '-'} → "
            f"{_percent(view.current.completeness) if view.current else '-'}"
        ),
        _cell(view.constraint.describe() if view.constraint else "-"),
    ]
    css = ' class="violated"' if view.violated else ""
    return f"<tr{css}>{''.join(cells)}</tr>"


def render_html(inputs: ReportInputs, views: Sequence[FeatureView], png: bytes) -> str:
    """The self-contained page: sources, notes, violations, per-feature numbers, the embedded picture."""
    escape = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(inputs.title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(inputs.title)}</h1>",
    ]
    if inputs.sources:
        parts.append('<ul class="sources">')
        parts.extend(
            f"<li>{escape(label)}: <code>{escape(location)}</code></li>" for label, location in inputs.sources.items()
        )
        parts.append("</ul>")
    if inputs.notes:
        parts.append('<ul class="notes">')
        parts.extend(f"<li>{escape(note)}</li>" for note in inputs.notes)
        parts.append("</ul>")

    violations = inputs.violations
    parts.append(f"<h2>Violations ({'no file' if violations is None else len(violations)})</h2>")
    if violations:
        parts.append("<table><tr><th>Feature</th><th>Check</th><th>Count</th><th>Description</th></tr>")
        parts.extend(
            f'<tr class="violated">{_cell(v.feature_name)}{_cell(v.constraint_check_type, "flag")}'
            f"{_cell(count)}{_cell((v.description or '-').strip())}</tr>"
            for v, count in _grouped_violations(violations)
        )
        parts.append("</table>")
    else:
        parts.append(f"<p>{escape(format_violations_table(violations))}</p>")

    violated = sum(1 for view in views if view.violated)
    parts.append(f"<h2>Features ({len(views)}, {violated} violated)</h2>")
    parts.append(
        "<table><tr><th>Feature</th><th>Result</th><th>Type (baseline → current)</th><th>Mean</th>"
        "<th>Min .. max</th><th>Completeness</th><th>Baseline constraint</th></tr>"
    )
    parts.extend(_feature_row(view) for view in views)
    parts.append("</table>")

    encoded = base64.b64encode(png).decode("ascii")
    parts.append("<h2>Distributions: baseline (filled) vs current (line)</h2>")
    parts.append(f'<img alt="baseline and current distribution per feature" src="data:image/png;base64,{encoded}">')
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(inputs: ReportInputs, out_dir: Path) -> ReportFiles:
    """Render the picture and the page into ``out_dir`` (created if needed) as report.png and report.html."""
    views = feature_views(inputs)
    png = render_png(views, title=inputs.title)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = ReportFiles(png=out_dir / "report.png", html=out_dir / "report.html")
    files.png.write_bytes(png)
    files.html.write_text(render_html(inputs, views, png), encoding="utf-8")
    return files
