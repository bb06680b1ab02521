"""Fixtures shared by the Lambda tests: import paths, moto, the connections
table built from the foundations template itself, the WebSocket management API
double and the InfluxDB double (tests/doubles/)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.doubles import apigateway as doubles
from tests.doubles.lambda_paths import add_lambda_paths

HERE = Path(__file__).parent
# Each zip is flat, so a handler imports its modules by plain name; the tests
# import them the same way, from the folders lambdas/functions.toml declares.
add_lambda_paths()
# crhelper makes its boto3 clients when the provider module is imported.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": doubles.REGION,
    "AWS_REGION": doubles.REGION,
}


@pytest.fixture
def aws(monkeypatch):
    from moto import mock_aws

    for name, value in AWS_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


@pytest.fixture
def table(aws):
    return doubles.connections_table()


@pytest.fixture
def connections(aws, monkeypatch):
    return doubles.management_api_double(monkeypatch.setattr)


@pytest.fixture
def stored(table):
    """stored() -> the (connectionId, symbol) pairs in the table now."""
    return lambda: {(item["connectionId"], item["symbol"]) for item in table.scan()["Items"]}


@pytest.fixture
def event():
    """event(folder, name) -> a JSON event file from lambdas/<folder>/events/."""
    return lambda folder, name: json.loads((HERE / folder / "events" / name).read_text())


@pytest.fixture
def influx(httpserver):
    """An InfluxDB double with org 'streamlines' and bucket 'market-data'; .url is its base URL."""
    from tests.doubles.influxdb import InfluxDouble

    double = InfluxDouble()
    double.url = double.install(httpserver)
    yield double
    assert double.violations == [], "the InfluxDB double answered outside InfluxData's contract"
