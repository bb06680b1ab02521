"""What `streamlines grafana provision` hands the Grafana provisioning: the lite
stack's facts read from AWS (outputs, and through its foundations stack the read
token and the Grafana admin password)."""

from __future__ import annotations

import json
from typing import Any

from grafana.provision import PLACEHOLDER, ProvisionError, Target
from templates_py import exports

from .aws import StackError, secret_string, usable_outputs


def grafana_target(session: Any, stack: str, grafana_url: str | None) -> Target:
    """The Target of `stack`, or ProvisionError with one sentence."""
    try:
        return _target(session, stack, grafana_url)
    except StackError as error:
        raise ProvisionError(str(error)) from None


def _target(session: Any, stack: str, grafana_url: str | None) -> Target:
    region = session.region_name or "the default region"
    cloudformation = session.client("cloudformation")
    outputs = usable_outputs(cloudformation, stack, region)
    profile = outputs.get("StackProfile")
    if profile != "lite":
        kind = f"a {profile} stack" if profile else "not a Stream Lines stack (no StackProfile output)"
        raise ProvisionError(f"stack {stack} is {kind}; Grafana provisioning needs a lite stack.")
    foundations_name = outputs.get("FoundationsStack")
    foundations = usable_outputs(cloudformation, foundations_name, region) if foundations_name else {}
    for key in (exports.INFLUXDB_READ_TOKEN_SECRET, exports.GRAFANA_ADMIN_PASSWORD_SECRET):
        if key not in foundations:
            raise ProvisionError(f"foundations stack {foundations_name} has no {key} output.")
    url = grafana_url or outputs.get("GrafanaUrl")
    if not url:
        raise ProvisionError(
            f"stack {stack} has no public Grafana (GrafanaExposure is none); start an ECS Exec port forward and "
            "pass --grafana-url http://localhost:3000."
        )
    secrets = session.client("secretsmanager")
    raw = secret_string(secrets, foundations[exports.INFLUXDB_READ_TOKEN_SECRET], "InfluxDB read token")
    try:
        read_token = json.loads(raw).get("token", "")
    except (ValueError, AttributeError):
        read_token = raw
    if not read_token or read_token == PLACEHOLDER:
        raise ProvisionError(
            "the InfluxDB read token is still a placeholder: the stack's token issuer has not stored it (check "
            "the InfluxTokens resource)."
        )
    password = secret_string(secrets, foundations[exports.GRAFANA_ADMIN_PASSWORD_SECRET], "Grafana admin password")
    return Target(
        url.rstrip("/"),
        outputs[exports.LITE_INFLUXDB_URL],
        outputs[exports.LITE_INFLUXDB_ORG],
        outputs[exports.LITE_INFLUXDB_BUCKET],
        read_token,
        password,
    )
