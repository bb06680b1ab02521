"""The dashboards in grafana/dashboards/: bound to the provisioned datasource,
querying only the data ripples writes, loadable by grafana-foundation-sdk."""

from __future__ import annotations

import json
import re

import pytest

from grafana import dashboards as generator
from grafana.dashboards import DATASOURCE_UID, FOLDER
from grafana.provision import bind, load_dashboards

# The data model of docs/architecture.md ("The data model").
MEASUREMENTS = {"windowed-stock-quotation-volumes", "windowed-crypto-quotation-volumes"}
FIELDS = {
    "sum_bid_volume",
    "sum_ask_volume",
    "average_bid_price",
    "average_ask_price",
    "bid_price_at_window_end",
    "ask_price_at_window_end",
    "record_count",
}
FILES = sorted(FOLDER.glob("*.json"))


def load(path):
    return json.loads(path.read_text())


def queries(dashboard):
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            yield panel, target["query"]


def test_committed_json_is_what_the_generator_makes():
    on_disk = {path.name: path.read_text() for path in FILES}
    assert on_disk == generator.generated(), "run `make dashboards` after changing grafana/dashboards.py"


def test_one_dashboard_per_measurement():
    measured = {
        m for path in FILES for _, q in queries(load(path)) for m in re.findall(r'r\._measurement == "([^"]+)"', q)
    }
    assert measured == MEASUREMENTS


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_panel_uses_the_provisioned_datasource(path):
    dashboard = load(path)
    for panel in dashboard["panels"]:
        assert panel["datasource"] == {"type": "influxdb", "uid": DATASOURCE_UID}, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == {"type": "influxdb", "uid": DATASOURCE_UID}
    for variable in dashboard["templating"]["list"]:
        assert variable["datasource"]["uid"] == DATASOURCE_UID


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_query_names_an_existing_measurement_and_fields(path):
    dashboard = load(path)
    for panel, query in queries(dashboard):
        measurements = set(re.findall(r'r\._measurement == "([^"]+)"', query))
        fields = set(re.findall(r'r\._field == "([^"]+)"', query))
        assert len(measurements) == 1 and measurements <= MEASUREMENTS, panel["title"]
        assert fields and fields <= FIELDS, panel["title"]
        columns = set(re.findall(r"\br\.([a-z_]+)", query)) - {"_measurement", "_field", "_time", "_value", "symbol"}
        assert columns <= FIELDS, f"{panel['title']} uses {columns - FIELDS}"
        assert "aggregateWindow(every: v.windowPeriod" in query, panel["title"]
        assert "contains(value: r.symbol, set: ${symbol:json})" in query


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_panels_cover_prices_spread_volumes_ratio_and_counts(path):
    dashboard = load(path)
    by_title = {panel["title"]: query for panel, query in queries(dashboard)}
    assert any("average_bid_price" in q and "average_ask_price" in q and "spread" not in q for q in by_title.values())
    assert any("spread:" in q for q in by_title.values())
    volumes = [
        p
        for p in dashboard["panels"]
        if "sum_bid_volume" in p["targets"][0]["query"] and "ratio" not in p["targets"][0]["query"]
    ]
    assert volumes and volumes[0]["fieldConfig"]["defaults"]["custom"]["drawStyle"] == "bars"
    assert any("ratio:" in q and "r.sum_bid_volume / r.sum_ask_volume" in q for q in by_title.values())
    assert any('r._field == "record_count"' in q for q in by_title.values())


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_symbol_variable_lists_the_tag_values(path):
    dashboard = load(path)
    (variable,) = [v for v in dashboard["templating"]["list"] if v["name"] == "symbol"]
    assert variable["type"] == "query" and variable["multi"] and variable["includeAll"]
    assert 'schema.tagValues(bucket: v.defaultBucket, tag: "symbol"' in variable["query"]
    measurement = re.search(r'r\._measurement == "([^"]+)"', variable["query"]).group(1)
    assert {measurement} == {m for _, q in queries(dashboard) for m in re.findall(r'r\._measurement == "([^"]+)"', q)}


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_loads_in_grafana_foundation_sdk(path):
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models.dashboard import Dashboard

    data = load(path)
    model = Dashboard.from_json(data)
    again = json.loads(json.dumps(model, cls=JSONEncoder))
    assert (again["uid"], again["title"]) == (data["uid"], data["title"])
    assert len(again["panels"]) == len(data["panels"])
    for original, loaded in zip(data["panels"], again["panels"], strict=True):
        assert loaded["type"] == "timeseries"
        assert loaded["gridPos"] == {**loaded["gridPos"], **original["gridPos"]}
        assert [t["query"] for t in loaded["targets"]] == [t["query"] for t in original["targets"]]
    assert again["templating"]["list"][0]["name"] == "symbol"


def test_panels_do_not_overlap():
    for path in FILES:
        cells = set()
        for panel in load(path)["panels"]:
            g = panel["gridPos"]
            assert g["x"] + g["w"] <= 24
            area = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
            assert not area & cells, panel["title"]
            cells |= area


def test_binding_points_foreign_influxdb_references_at_our_datasource():
    imported = {
        "uid": "x",
        "title": "t",
        "id": 7,
        "version": 3,
        "panels": [
            {"datasource": {"type": "influxdb", "uid": "${DS_INFLUXDB}"}, "targets": [{"datasource": "${DS_INFLUXDB}"}]}
        ],
    }
    bound = bind(imported)
    assert bound["panels"][0]["datasource"] == {"type": "influxdb", "uid": DATASOURCE_UID}
    assert bound["panels"][0]["targets"][0]["datasource"] == DATASOURCE_UID
    assert "id" not in bound and "version" not in bound


def test_loader_accepts_the_shipped_folder():
    assert sorted(d["uid"] for _, d in load_dashboards()) == sorted(generator.DASHBOARDS)


# The data model's field types (docs/architecture.md, "The data model").
FLOAT_FIELDS = {
    "sum_bid_volume",
    "sum_ask_volume",
    "average_bid_price",
    "average_ask_price",
    "bid_price_at_window_end",
    "ask_price_at_window_end",
}
INTEGER_FIELDS = {"record_count", "window_start_time", "window_end_time"}
# Per-window values that add up (volumes, counts): summing them over overlapping windows double counts.
ADDITIVE = {"sum_bid_volume", "sum_ask_volume", "record_count"}


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_no_query_sums_overlapping_windows(path):
    summed = 0
    for panel, query in queries(load(path)):
        fields = set(re.findall(r'r\._field == "([^"]+)"', query))
        if "fn: sum" in query and fields & ADDITIVE:
            summed += 1
            assert generator.DISJOINT.strip() in query, (
                f"{panel['title']} sums per-window values of overlapping windows"
            )
            assert "do not overlap" in panel["description"], panel["title"]
    assert summed == 3


def test_the_disjoint_windows_tile_time_once():
    """Windows of 420 s every 210 s; those ending on a multiple of 420 s cover each instant exactly once."""
    window, slide = generator.WINDOW_SECONDS, generator.SLIDE_SECONDS
    ends = [end for end in range(0, 10 * window + 1, slide)]
    kept = [end for end in ends if end % window == 0]
    for instant in range(window, 8 * window):
        covering_all = [end for end in ends if end - window <= instant < end]
        covering_kept = [end for end in kept if end - window <= instant < end]
        assert len(covering_all) == 2 and len(covering_kept) == 1
    assert f"% {window * 10**9} == 0" in generator.DISJOINT


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_integer_and_float_fields_are_never_aggregated_together(path):
    for panel, query in queries(load(path)):
        fields = set(re.findall(r'r\._field == "([^"]+)"', query))
        assert fields <= FLOAT_FIELDS | INTEGER_FIELDS, panel["title"]
        assert fields <= FLOAT_FIELDS or fields <= INTEGER_FIELDS, f"{panel['title']} mixes {sorted(fields)}"
