"""ECharts options for the analytics pages, built from selector data with translated
labels; the page hands them to ECharts as JSON (no chart logic in JavaScript)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from guanxi.analytics.models import Cell, SegmentSize, Stage, Tier
from guanxi.core.choices import choice_label

PALETTE = ["#c0392b", "#2e86de", "#27ae60", "#f39c12", "#8e44ad", "#16a085", "#7f8c8d",
           "#d35400", "#2c3e50"]
# One colour per stage and per tier on every chart (the same as the badges in app.css).
STAGE_COLOURS = {Stage.NEW: "#206bc4", Stage.ACTIVE: "#1b7a2f", Stage.HIGH_VALUE: "#ae3ec9",
                 Stage.POTENTIAL: "#8a5a00", Stage.DORMANT: "#868e96", Stage.CHURNED: "#d63939"}
TIER_COLOURS = {Tier.IMPORTANT_VALUE: "#ae3ec9", Tier.IMPORTANT_DEVELOPMENT: "#206bc4",
                Tier.GENERAL_VALUE: "#1b7a2f", Tier.LOW_VALUE: "#f59f00",
                Tier.NO_PURCHASES: "#adb5bd"}
STAGE_ORDER = [Stage.NEW, Stage.ACTIVE, Stage.HIGH_VALUE, Stage.POTENTIAL, Stage.DORMANT,
               Stage.CHURNED]
TIER_ORDER = [Tier.IMPORTANT_VALUE, Tier.IMPORTANT_DEVELOPMENT, Tier.GENERAL_VALUE,
              Tier.LOW_VALUE, Tier.NO_PURCHASES]


def _label(choices: Any, value: str) -> str:
    if value == "not_scored":
        return _("Not scored")
    return choice_label(choices, value)


def list_url(**params: Any) -> str:
    """The customer list filtered to one slice of a chart (where a click on it goes)."""
    return reverse("customers:list") + "?" + urlencode(params)


def _bars(title: str, labels: list[str], values: list[int], *, horizontal: bool = False,
          urls: list[str] | None = None, colours: list[str] | None = None) -> dict[str, Any]:
    category = {"type": "category", "data": labels,
                "axisLabel": {"interval": 0, "width": 110, "overflow": "break"}}
    number = {"type": "value", "minInterval": 1}
    data = [{"value": v, **({"url": urls[i]} if urls else {}),
             **({"itemStyle": {"color": colours[i]}} if colours else {})}
            for i, v in enumerate(values)]
    return {
        "color": PALETTE, "title": {"text": title, "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis"}, "grid": {"containLabel": True, "left": 8, "right": 32},
        "xAxis": number if horizontal else category,
        "yAxis": {**category, "inverse": True} if horizontal else number,
        "series": [{"type": "bar", "data": data, "cursor": "pointer" if urls else "default",
                    "label": {"show": True, "position": "right" if horizontal else "top"}}],
    }


def stage_chart(counts: dict[str, int]) -> dict[str, Any]:
    stages = [s for s in STAGE_ORDER if counts.get(s)]
    return _bars(_("Customers by lifecycle stage"), [_label(Stage, s) for s in stages],
                 [counts[s] for s in stages], urls=[list_url(stage=s) for s in stages],
                 colours=[STAGE_COLOURS[s] for s in stages])


def tier_chart(counts: dict[str, int], cells: dict[str, int]) -> dict[str, Any]:
    """The four tiers as a ring, the eight RFM cells around it."""
    tiers = [t for t in TIER_ORDER if counts.get(t)]
    cell_values = [c for c in Cell.values if c and cells.get(c)]
    return {
        "color": PALETTE, "title": {"text": _("Value tiers and RFM cells"),
                                    "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "item", "formatter": "{b}: {c} ({d}%)"},
        "legend": {"type": "scroll", "bottom": 0, "data": [_label(Tier, t) for t in tiers]},
        "series": [
            {"type": "pie", "radius": ["0%", "34%"], "center": ["50%", "48%"],
             "cursor": "pointer", "label": {"show": False},
             "data": [{"name": _label(Tier, t), "value": counts[t], "url": list_url(tier=t),
                       "itemStyle": {"color": TIER_COLOURS.get(t, "#adb5bd")}}
                      for t in tiers]},
            {"type": "pie", "radius": ["44%", "62%"], "center": ["50%", "48%"],
             "label": {"formatter": "{b}\n{c} ({d}%)", "width": 90, "overflow": "break",
                       "fontSize": 11, "alignTo": "edge", "edgeDistance": 8, "minMargin": 4},
             "labelLayout": {"hideOverlap": True},
             "data": [{"name": _label(Cell, c), "value": cells[c]} for c in cell_values]},
        ],
    }


def segment_chart(segments: list[Any]) -> dict[str, Any]:
    return _bars(_("Segment sizes"), [s.name for s in segments],
                 [s.member_count for s in segments], horizontal=True,
                 urls=[list_url(segment=s.pk) for s in segments])


def rfm_heatmap(grid: list[dict[str, Any]]) -> dict[str, Any]:
    data = [[row["f"] - 1, row["r"] - 1, row["customers"], round(row["average_spend"], 2)]
            for row in grid]
    top = max((row["customers"] for row in grid), default=1)
    return {
        "title": {"text": _("RFM heat map: recency × frequency (customers)"),
                  "textStyle": {"fontSize": 14}},
        "tooltip": {"position": "top"},
        "grid": {"containLabel": True, "left": 8, "right": 90, "bottom": 40},
        "xAxis": {"type": "category", "name": _("F score"), "nameLocation": "center",
                  "nameGap": 28, "data": ["1", "2", "3", "4", "5"], "splitArea": {"show": True}},
        "yAxis": {"type": "category", "name": _("R score"), "data": ["1", "2", "3", "4", "5"],
                  "splitArea": {"show": True}},
        "visualMap": {"min": 0, "max": top, "calculable": True, "orient": "vertical",
                      "dimension": 2,  # customers (the 4th value is the average spend)
                      "right": 0, "top": "middle", "itemHeight": 140,
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

    def node(stage: str, side: str) -> dict[str, Any]:
        colour = STAGE_COLOURS.get(stage, "#adb5bd")  # type: ignore[call-overload]
        return {"name": name(stage, side), "itemStyle": {"color": colour}}

    nodes = ([node(s, "a") for s in sorted(left)] + [node(s, "b") for s in sorted(right)])
    return {
        "color": PALETTE, "title": {"text": _("Lifecycle flows from %(start)s to %(end)s")
                                    % {"start": start, "end": end},
                                    "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "item"},
        "series": [{"type": "sankey", "top": 40, "emphasis": {"focus": "adjacency"},
                    "lineStyle": {"color": "source", "opacity": 0.35},
                    "label": {"formatter": "{b}"},
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
        "grid": {"containLabel": True, "left": 8, "right": 90, "bottom": 40},
        "xAxis": {"type": "category", "name": _("months after the first order"),
                  "nameLocation": "center", "nameGap": 28,
                  "data": [str(k) for k in range(width)]},
        "yAxis": {"type": "category", "data": rows, "inverse": True},
        "visualMap": {"min": 0, "max": 100, "calculable": True, "orient": "vertical",
                      "right": 0, "top": "middle", "itemHeight": 140,
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
