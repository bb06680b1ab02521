"""The parameter values every template test runs over: sets that together switch
every Condition both ways (tests/templates/test_lint.py checks that they do), and
the values each profile needs on every deploy."""

from __future__ import annotations

CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
CIDR = "198.18.7.10/32"
EMAIL = "ops@example.com"

FAKE_KEY = "0" * 64
# Parameters full needs on every deploy (no defaults).
FULL_REQUIRED = {
    "TopTickersApi": "https://tickers.example.com/top",
    "IngestImageTag": "1.0.0",
    "RipplesImageTag": "1.0.0",
    "BackendImageTag": "1.0.0",
    "DashboardImageTag": "1.0.0",
    "ConnectionHandlerCodeKey": f"lambdas/websocket_connection_handler/{FAKE_KEY}.zip",
    "ResultsPusherCodeKey": f"lambdas/results_stream_pusher/{FAKE_KEY}.zip",
    "InfluxTokenAgentCodeKey": f"lambdas/influx_token_agent/{FAKE_KEY}.zip",
    "InfluxTokenProviderCodeKey": f"lambdas/influx_token_provider/{FAKE_KEY}.zip",
}
LITE_REQUIRED = {key: value for key, value in FULL_REQUIRED.items() if key.startswith("InfluxToken")}
DOMAINS = {
    "HostedZoneId": "Z0123456789ABCDEFGHIJ",
    "BackendDomainName": "api.example.com",
    "DashboardDomainName": "dashboard.example.com",
    "WebSocketDomainName": "live.example.com",
}

# Names without a hosted zone: the operator keeps DNS elsewhere.
NAMES_ONLY = {"BackendDomainName": "api.example.com", "DashboardDomainName": "dashboard.example.com"}
GRAFANA_DOMAIN = {"GrafanaDomainName": "grafana.example.com", "GrafanaHostedZoneId": "Z0123456789ABCDEFGHIJ"}

# Parameter sets that together switch every Condition both ways (checked below).
BRANCHES: dict[str, list[dict[str, str]]] = {
    "foundations": [{}],
    "lite": [
        LITE_REQUIRED,
        {**LITE_REQUIRED, "AllowedCidr": CIDR},
        {**LITE_REQUIRED, "AllowedCidr": CIDR, "CertificateArn": CERTIFICATE, **GRAFANA_DOMAIN},
        {
            **LITE_REQUIRED,
            "AllowedCidr": CIDR,
            "GrafanaDomainName": "grafana.example.com",
            "GrafanaImage": "ghcr.io/example/grafana:12.1.1",
        },
        {**LITE_REQUIRED, "GrafanaExposure": "none"},
        {
            **LITE_REQUIRED,
            "GrafanaExposure": "none",
            "CertificateArn": CERTIFICATE,
            "GrafanaDomainName": "grafana.example.com",
            "ActiveHours": "scheduled",
            "AlarmEmail": EMAIL,
        },
        {**LITE_REQUIRED, "AllowedCidr": CIDR, "Capacity": "FARGATE_SPOT", "InfluxDbCapacity": "FARGATE_SPOT"},
    ],
    "full": [
        FULL_REQUIRED,
        {**FULL_REQUIRED, "NetworkMode": "nat"},
        {**FULL_REQUIRED, "NetworkMode": "public", "StreamMode": "ON_DEMAND", "WebSocketAccessLogs": "enabled"},
        {**FULL_REQUIRED, "CertificateArn": CERTIFICATE, **DOMAINS},
        {**FULL_REQUIRED, "NetworkMode": "nat", **DOMAINS},
        {
            **FULL_REQUIRED,
            "NetworkMode": "public",
            "CertificateArn": CERTIFICATE,
            **NAMES_ONLY,
            "ActiveHours": "scheduled",
            "ActiveHoursTimezone": "Europe/London",
            "AlarmEmail": EMAIL,
        },
        {
            **FULL_REQUIRED,
            "EcsExec": "enabled",
            "Capacity": "FARGATE_SPOT",
            "InfluxDbCapacity": "FARGATE_SPOT",
            **NAMES_ONLY,
        },
        {**FULL_REQUIRED, "NetworkMode": "nat", "EcsExec": "enabled", "BackendDomainName": "api.example.com"},
    ],
    "lite-pipeline": [
        {key: FULL_REQUIRED[key] for key in ("TopTickersApi", "IngestImageTag", "RipplesImageTag")},
        {
            **{key: FULL_REQUIRED[key] for key in ("TopTickersApi", "IngestImageTag", "RipplesImageTag")},
            "StreamMode": "ON_DEMAND",
            "Capacity": "FARGATE_SPOT",
            "AlarmEmail": EMAIL,
        },
    ],
    "cloudfront": [
        {},
        {"DomainName": "dashboard.example.com", "CertificateArn": CERTIFICATE},
        {"DomainName": "dashboard.example.com", "CertificateArn": CERTIFICATE, "HostedZoneId": "Z0123456789ABCDEFGHIJ"},
    ],
}


def branch_ids():
    return [(stack, i) for stack, sets in BRANCHES.items() for i in range(len(sets))]
