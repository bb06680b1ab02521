"""The Stream Lines dashboards, as code: one per measurement ripples writes.

The two dashboards differ only in their measurement, so they are generated from
this module rather than kept as two hand-edited JSON files; the JSON in
grafana/dashboards/ is this module's output (`make dashboards` rewrites it, a
test fails when it is stale). Any other dashboard JSON dropped into that folder
is provisioned too.

Data (docs/architecture.md, "The data model"): measurements `windowed-stock-quotation-volumes` and
`windowed-crypto-quotation-volumes`, tag `symbol`, float fields sum_bid_volume,
sum_ask_volume, average_bid_price, average_ask_price, bid_price_at_window_end,
ask_price_at_window_end, integer record_count; a point every 210 s per symbol.

The windows are sliding: 420 s long, one every 210 s, so each quote is in two
windows and summing per-window volumes or counts over an interval counts it
twice. Flink aligns sliding windows to the epoch, so the windows that end on a
multiple of 420 s tile time without overlap: the "per interval" panels sum
those only (`DISJOINT`), and count each quote once.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

DATASOURCE_UID = "streamlines-influxdb"
DATASOURCE = {"type": "influxdb", "uid": DATASOURCE_UID}
FOLDER = Path(__file__).parent / "dashboards"

WINDOW_SECONDS, SLIDE_SECONDS = 420, 210
# Keep only the windows that end on a multiple of their length: they do not overlap.
DISJOINT = f"  |> filter(fn: (r) => int(v: r._time) % {WINDOW_SECONDS * 10**9} == 0)\n"

DASHBOARDS = {
    "streamlines-stock-volumes": ("Stream Lines: stock quotation volumes", "windowed-stock-quotation-volumes"),
    "streamlines-crypto-volumes": ("Stream Lines: crypto quotation volumes", "windowed-crypto-quotation-volumes"),
}


def flux(measurement: str, fields: list[str], fn: str, tail: str = "", disjoint: bool = False) -> str:
    """A Flux query over the selected symbols, aggregated to the panel interval;
    `disjoint` keeps only non-overlapping windows (for sums of volumes and counts)."""
    field_filter = " or ".join(f'r._field == "{field}"' for field in fields)
    return (
        "from(bucket: v.defaultBucket)\n"
        "  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)\n"
        f'  |> filter(fn: (r) => r._measurement == "{measurement}")\n'
        f"  |> filter(fn: (r) => {field_filter})\n"
        "  |> filter(fn: (r) => contains(value: r.symbol, set: ${symbol:json}))\n"
        + (DISJOINT if disjoint else "")
        + f"  |> aggregateWindow(every: v.windowPeriod, fn: {fn}, createEmpty: false)\n"
        + tail
    ).rstrip("\n")


def _pivoted(column: str, expression: str) -> str:
    """After aggregation: one row per time and symbol with both fields, and a computed column."""
    return (
        '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")\n'
        f"  |> map(fn: (r) => ({{_time: r._time, symbol: r.symbol, {column}: {expression}}}))\n"
        '  |> group(columns: ["symbol"])\n'
    )


def _panel(
    panel_id: int,
    title: str,
    description: str,
    query: str,
    grid: tuple[int, int, int, int],
    *,
    unit: str = "none",
    bars: bool = False,
    decimals: int | None = None,
) -> dict:
    x, y, w, h = grid
    defaults: dict[str, Any] = {
        "unit": unit,
        "custom": {
            "drawStyle": "bars" if bars else "line",
            "fillOpacity": 60 if bars else 10,
            "lineWidth": 1,
            "showPoints": "never" if not bars else "auto",
            "spanNulls": True,
        },
    }
    if decimals is not None:
        defaults["decimals"] = decimals
    return {
        "id": panel_id,
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": dict(DATASOURCE),
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "none"},
        },
        "targets": [{"refId": "A", "datasource": dict(DATASOURCE), "query": query}],
    }


def dashboard(uid: str, title: str, measurement: str) -> dict:
    m = measurement
    panels = [
        _panel(
            1,
            "Average bid and ask prices",
            "Mean of the windows' average bid and ask prices per symbol.",
            flux(m, ["average_bid_price", "average_ask_price"], "mean"),
            (0, 0, 12, 8),
            unit="currencyUSD",
        ),
        _panel(
            2,
            "Bid-ask spread",
            "Average ask price minus average bid price.",
            flux(
                m,
                ["average_bid_price", "average_ask_price"],
                "mean",
                _pivoted("spread", "r.average_ask_price - r.average_bid_price"),
            ),
            (12, 0, 12, 8),
            unit="currencyUSD",
        ),
        _panel(
            3,
            "Bid and ask volumes",
            "Bid and ask volume traded per interval: the sum over the windows that do not overlap (those ending "
            "on a multiple of 420 s), so each quote counts once.",
            flux(m, ["sum_bid_volume", "sum_ask_volume"], "sum", disjoint=True),
            (0, 8, 12, 8),
            bars=True,
        ),
        _panel(
            4,
            "Bid/ask volume ratio",
            "Bid volume divided by ask volume per interval, over the windows that do not overlap (1 is balanced).",
            flux(
                m,
                ["sum_bid_volume", "sum_ask_volume"],
                "sum",
                _pivoted("ratio", "if r.sum_ask_volume > 0.0 then r.sum_bid_volume / r.sum_ask_volume else 0.0"),
                disjoint=True,
            ),
            (12, 8, 12, 8),
            decimals=2,
        ),
        _panel(
            5,
            "Quotes per interval",
            "Quotes received per interval: record_count (an integer field) summed over the windows that do not "
            "overlap, so each quote counts once.",
            flux(m, ["record_count"], "sum", disjoint=True),
            (0, 16, 12, 8),
            bars=True,
        ),
        _panel(
            6,
            "Prices at window end",
            "Bid and ask prices at the end of each window.",
            flux(m, ["bid_price_at_window_end", "ask_price_at_window_end"], "last"),
            (12, 16, 12, 8),
            unit="currencyUSD",
        ),
    ]
    symbols = (
        'import "influxdata/influxdb/schema"\n'
        f'schema.tagValues(bucket: v.defaultBucket, tag: "symbol", predicate: (r) => r._measurement == "{m}", '
        "start: -30d)"
    )
    return {
        "uid": uid,
        "title": title,
        "description": f"Windowed quotation volumes from ripples ({m}); a point every 210 s per symbol for a 420 s "
        "window.",
        "tags": ["streamlines"],
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "refresh": "1m",
        "schemaVersion": 39,
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [
                {
                    "type": "query",
                    "name": "symbol",
                    "label": "Symbol",
                    "datasource": dict(DATASOURCE),
                    "query": symbols,
                    "definition": symbols,
                    "refresh": 2,
                    "multi": True,
                    "includeAll": True,
                    "sort": 1,
                    "current": {},
                    "options": [],
                }
            ]
        },
        "annotations": {"list": []},
        "panels": panels,
    }


def generated() -> dict[str, str]:
    """File name -> JSON text, as written to grafana/dashboards/."""
    return {
        f"{uid}.json": json.dumps(dashboard(uid, title, m), indent=2, sort_keys=True) + "\n"
        for uid, (title, m) in DASHBOARDS.items()
    }


def main() -> int:
    FOLDER.mkdir(exist_ok=True)
    for name, text in generated().items():
        (FOLDER / name).write_text(text, encoding="utf-8")
        print(f"wrote grafana/dashboards/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
