"""ECharts options for the analytics pages, built from selector data with translated
labels; the page hands them to ECharts as JSON (no chart logic in JavaScript)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext as _

from guanxi.analytics.models import Cell, SegmentSize, Stage, Tier

PALETTE = ["#c0392b", "#2e86de", "#27ae60", "#f39c12", "#8e44ad", "#16a085", "#7f8c8d",
           "#d35400", "#2c3e50"]
STAGE_ORDER = [Stage.NEW, Stage.ACTIVE, Stage.HIGH_VALUE, Stage.POTENTIAL, Stage.DORMANT,
               Stage.CHURNED]
TIER_ORDER = [Tier.IMPORTANT_VALUE, Tier.IMPORTANT_DEVELOPMENT, Tier.GENERAL_VALUE,
              Tier.LOW_VALUE, Tier.NO_PURCHASES]


def _label(choices: Any, value: str) -> str:
    if value == "not_scored":
        return _("Not scored")
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _bars(title: str, labels: list[str], values: list[int], *, horizontal: bool = False
          ) -> dict[str, Any]:
    category = {"type": "category", "data": labels, "axisLabel": {"interval": 0}}
    number = {"type": "value", "minInterval": 1}
    return {
        "color": PALETTE, "title": {"text": title, "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis"}, "grid": {"containLabel": True, "left": 8, "right": 16},
        "xAxis": number if horizontal else category,
        "yAxis": {**category, "inverse": True} if horizontal else number,
        "series": [{"type": "bar", "data": values, "label": {"show": True,
                    "position": "right" if horizontal else "top"}}],
    }


def stage_chart(counts: dict[str, int]) -> dict[str, Any]:
    stages = [s for s in STAGE_ORDER if counts.get(s)]
    return _bars(_("Customers by lifecycle stage"), [_label(Stage, s) for s in stages],
                 [counts[s] for s in stages])


def tier_chart(counts: dict[str, int], cells: dict[str, int]) -> dict[str, Any]:
    """The four tiers as a ring, the eight RFM cells around it."""
    tiers = [t for t in TIER_ORDER if counts.get(t)]
    cell_values = [c for c in Cell.values if c and cells.get(c)]
    return {
        "color": PALETTE, "title": {"text": _("Value tiers and RFM cells"),
                                    "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "item", "formatter": "{b}: {c} ({d}%)"},
        "series": [
            {"type": "pie", "radius": ["0%", "38%"], "label": {"position": "inner",
                                                              "fontSize": 10},
             "data": [{"name": _label(Tier, t), "value": counts[t]} for t in tiers]},
            {"type": "pie", "radius": ["48%", "68%"],
             "data": [{"name": _label(Cell, c), "value": cells[c]} for c in cell_values]},
        ],
    }


def segment_chart(segments: list[Any]) -> dict[str, Any]:
    return _bars(_("Segment sizes"), [s.name for s in segments],
                 [s.member_count for s in segments], horizontal=True)


def rfm_heatmap(grid: list[dict[str, Any]]) -> dict[str, Any]:
    data = [[row["f"] - 1, row["r"] - 1, row["customers"], round(row["average_spend"], 2)]
            for row in grid]
    top = max((row["customers"] for row in grid), default=1)
    return {
        "title": {"text": _("RFM heat map: recency × frequency (customers)"),
                  "textStyle": {"fontSize": 14}},
        "tooltip": {"position": "top"},
        "grid": {"containLabel": True, "left": 8, "right": 16, "bottom": 60},
        "xAxis": {"type": "category", "name": _("F score"), "nameLocation": "center",
                  "nameGap": 28, "data": ["1", "2", "3", "4", "5"], "splitArea": {"show": True}},
        "yAxis": {"type": "category", "name": _("R score"), "data": ["1", "2", "3", "4", "5"],
                  "splitArea": {"show": True}},
        "visualMap": {"min": 0, "max": top, "calculable": True, "orient": "horizontal",
                      "dimension": 2,  # customers (the 4th value is the average spend)
                      "left": "center", "bottom": 0,
                      "inRange": {"color": ["#fdf2e9", "#e67e22", "#c0392b"]}},
        "series": [{"type": "heatmap", "name": _("Customers"), "data": data,
                    "label": {"show": True},
                    "encode": {"x": 0, "y": 1, "value": 2, "tooltip": [2, 3]},
                    "dimensions": ["F", "R", _("Customers"), _("Average spend")]}],
    }


def stage_flow_chart(flows: list[tuple[str, str, int]], start: dt.date, end: dt.date
                     ) -> dict[str, Any]:
    """A Sankey diagram: stage on `start` (left) to stage on `end` (right)."""
    left = {a for a, _b, _n in flows}
    right = {b for _a, b, _n in flows}

    def name(stage: str, side: str) -> str:
        return f"{_label(Stage, stage)} · {start if side == 'a' else end}"

    nodes = ([{"name": name(s, "a")} for s in sorted(left)]
             + [{"name": name(s, "b")} for s in sorted(right)])
    return {
        "color": PALETTE, "title": {"text": _("Lifecycle flows from %(start)s to %(end)s")
                                    % {"start": start, "end": end},
                                    "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "item"},
        "series": [{"type": "sankey", "top": 40, "emphasis": {"focus": "adjacency"},
                    "nodeAlign": "justify", "data": nodes,
                    "links": [{"source": name(a, "a"), "target": name(b, "b"), "value": n}
                              for a, b, n in flows]}],
    }


def cohort_chart(cohorts: list[dict[str, Any]]) -> dict[str, Any]:
    """Retention triangle as a heat map: cohort month (rows) × months since first order."""
    width = max((len(c["retention"]) for c in cohorts), default=1)
    rows = [f"{c['cohort']:%Y-%m} ({c['customers']})" for c in cohorts]
    data = [[k, i, value] for i, c in enumerate(cohorts)
            for k, value in enumerate(c["retention"])]
    return {
        "title": {"text": _("Monthly cohort retention (share of the cohort buying again)"),
                  "textStyle": {"fontSize": 14}},
        "tooltip": {"position": "top"},
        "grid": {"containLabel": True, "left": 8, "right": 16, "bottom": 60},
        "xAxis": {"type": "category", "name": _("months after the first order"),
                  "nameLocation": "center", "nameGap": 28,
                  "data": [str(k) for k in range(width)]},
        "yAxis": {"type": "category", "data": rows, "inverse": True},
        "visualMap": {"min": 0, "max": 100, "calculable": True, "orient": "horizontal",
                      "left": "center", "bottom": 0,
                      "inRange": {"color": ["#fdf2e9", "#27ae60"]}},
        "series": [{"type": "heatmap", "name": "%", "data": data, "label": {"show": True}}],
    }


def segment_size_chart(sizes: list[SegmentSize]) -> dict[str, Any]:
    return {
        "color": PALETTE, "title": {"text": _("Size over time"), "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0},
        "grid": {"containLabel": True, "left": 8, "right": 16, "bottom": 40},
        "xAxis": {"type": "time"},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [
            {"type": "line", "name": _("Members"), "step": "end",
             "data": [[s.at.isoformat(), s.members] for s in sizes]},
            {"type": "bar", "name": _("Joined"), "data": [[s.at.isoformat(), s.joined]
                                                         for s in sizes]},
            {"type": "bar", "name": _("Left"), "data": [[s.at.isoformat(), -s.left]
                                                       for s in sizes]},
        ],
    }
