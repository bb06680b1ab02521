"""`streamlines grafana provision` against a Grafana double, with the stack's
outputs and secrets in moto."""

from __future__ import annotations

import io
import json
import shutil

import pytest

from grafana.dashboards import DATASOURCE_UID, FOLDER
from grafana.provision import run
from streamlines.grafana_target import grafana_target

from ..doubles.grafana import PASSWORD

REGION = "us-east-1"
READ_TOKEN = "read-token-" + "x" * 70
GRAFANA_TOKENS = [READ_TOKEN]


def stack_template(outputs: dict[str, str]) -> str:
    return json.dumps(
        {
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {key: {"Value": value} for key, value in outputs.items()},
        }
    )


@pytest.fixture
def deployed(aws, grafana):
    """A foundations and a lite stack as they look after `aws cloudformation deploy`."""
    secrets = aws.client("secretsmanager")
    read = secrets.create_secret(
        Name="read-token", SecretString=json.dumps({"authorizationID": "0a1b", "token": READ_TOKEN})
    )["ARN"]
    admin = secrets.create_secret(Name="grafana-admin", SecretString=PASSWORD)["ARN"]
    cloudformation = aws.client("cloudformation")
    cloudformation.create_stack(
        StackName="sl-foundations",
        TemplateBody=stack_template({"InfluxDbReadTokenSecretArn": read, "GrafanaAdminPasswordSecretArn": admin}),
    )

    def lite(name="sl-lite", **overrides):
        outputs = {
            "StackProfile": "lite",
            "FoundationsStack": "sl-foundations",
            "GrafanaUrl": grafana.url,
            "InfluxDbUrl": "http://internal-sl-lite-influxdb-123.us-east-1.elb.amazonaws.com:8086",
            "InfluxDbOrg": "streamlines",
            "InfluxDbBucket": "market-data",
        }
        outputs.update(overrides)
        cloudformation.create_stack(
            StackName=name, TemplateBody=stack_template({k: v for k, v in outputs.items() if v is not None})
        )

    lite()
    return {"session": aws, "secrets": secrets, "read": read, "admin": admin, "lite": lite}


def provision(
    deployed, stack="sl-lite", dry_run=False, grafana_url=None, folder=FOLDER, wait=2.0, allow_insecure_http=False
):
    out, err = io.StringIO(), io.StringIO()
    code = run(
        lambda: grafana_target(deployed["session"], stack, grafana_url),
        dry_run,
        wait,
        folder,
        out=out,
        err=err,
        allow_insecure_http=allow_insecure_http,
    )
    return code, out.getvalue(), err.getvalue()


def actions(stdout: str) -> dict[str, str]:
    lines = [line.split() for line in stdout.splitlines() if line.startswith("  ") and "health" not in line]
    return {
        " ".join(parts[1:-1]) if parts[-2] not in ("would",) else " ".join(parts[1:-2]): parts[-1]
        if parts[-2] != "would"
        else "would " + parts[-1]
        for parts in lines
    }


def test_first_run_creates_everything(deployed, grafana):
    code, out, err = provision(deployed)
    assert code == 0, err
    assert set(actions(out).values()) == {"create"} and len(actions(out)) == 4
    datasource = grafana.datasources[DATASOURCE_UID]
    assert datasource["type"] == "influxdb" and datasource["url"].endswith(":8086")
    assert datasource["jsonData"]["version"] == "Flux"
    assert (datasource["jsonData"]["organization"], datasource["jsonData"]["defaultBucket"]) == (
        "streamlines",
        "market-data",
    )
    assert grafana.token_of(DATASOURCE_UID) == READ_TOKEN
    assert grafana.folders["streamlines"]["title"] == "Stream Lines"
    assert {d["folderUid"] for d in grafana.dashboards.values()} == {"streamlines"}
    assert len(grafana.dashboards) == len(list(FOLDER.glob("*.json")))
    assert "datasource health check: OK" in out
    assert READ_TOKEN not in out + err


def test_second_run_changes_nothing(deployed, grafana):
    provision(deployed)
    first_requests = len(grafana.requests)
    grafana.requests.clear()
    code, out, _ = provision(deployed)
    assert code == 0
    assert set(actions(out).values()) == {"unchanged"}
    assert grafana.writes() == []
    # What the README promises: 10 requests on a first run, 6 read-only ones on a second.
    assert (first_requests, len(grafana.requests)) == (10, 6)
    assert all(method == "GET" for method, _ in grafana.requests)


def test_changed_token_updates_only_the_datasource(deployed, grafana):
    provision(deployed)
    new_token = "rotated-" + "y" * 70
    grafana.valid_tokens.add(new_token)
    deployed["secrets"].put_secret_value(
        SecretId=deployed["read"], SecretString=json.dumps({"authorizationID": "0c1d", "token": new_token})
    )
    grafana.requests.clear()
    code, out, _ = provision(deployed)
    assert code == 0
    changed = {name: action for name, action in actions(out).items() if action != "unchanged"}
    assert changed == {"Stream Lines InfluxDB": "update"}
    assert grafana.writes() == [("PUT", f"/api/datasources/uid/{DATASOURCE_UID}")]
    assert grafana.token_of(DATASOURCE_UID) == new_token


def test_an_edited_dashboard_is_overwritten(deployed, grafana):
    provision(deployed)
    uid = "streamlines-stock-volumes"
    original = json.loads((FOLDER / f"{uid}.json").read_text())
    grafana.edit_dashboard(uid, title="Someone's experiment", panels=[])
    version = grafana.dashboards[uid]["dashboard"]["version"]
    code, out, _ = provision(deployed)
    assert code == 0
    assert actions(out)[original["title"]] == "update"
    restored = grafana.dashboards[uid]["dashboard"]
    assert restored["title"] == original["title"] and len(restored["panels"]) == len(original["panels"])
    assert restored["version"] == version + 1


def test_dry_run_makes_no_write_call(deployed, grafana):
    code, out, _ = provision(deployed, dry_run=True)
    assert code == 0
    assert grafana.writes() == []
    assert set(actions(out).values()) == {"would create"}
    assert "plan for Grafana" in out


def assert_one_line_error(code, out, err, *words):
    assert code == 1
    lines = err.strip().splitlines()
    assert lines and lines[-1].startswith("streamlines: error: "), err
    assert "Traceback" not in err
    for word in words:
        assert word in lines[-1]


def test_stack_not_found(deployed, grafana):
    assert_one_line_error(*provision(deployed, stack="nope"), "stack nope not found", REGION)
    assert grafana.requests == []


def test_stack_that_is_not_lite(deployed, grafana):
    deployed["lite"]("sl-full", StackProfile="full")
    assert_one_line_error(*provision(deployed, stack="sl-full"), "a full stack", "lite")
    deployed["lite"]("other", StackProfile=None)
    assert_one_line_error(*provision(deployed, stack="other"), "not a Stream Lines stack")


def test_missing_secret(deployed, grafana):
    deployed["secrets"].delete_secret(SecretId=deployed["read"], ForceDeleteWithoutRecovery=True)
    assert_one_line_error(*provision(deployed), "read token secret", "does not exist")
    assert grafana.requests == []


def test_placeholder_token(deployed, grafana):
    deployed["secrets"].put_secret_value(
        SecretId=deployed["read"], SecretString=json.dumps({"authorizationID": "", "token": "PLACEHOLDER"})
    )
    assert_one_line_error(*provision(deployed), "placeholder")
    assert grafana.requests == []


def test_grafana_unreachable(deployed):
    code, out, err = provision(deployed, grafana_url="http://127.0.0.1:9", wait=1.0)
    assert_one_line_error(code, out, err, "did not answer /api/health within 1 s")
    assert "waiting for Grafana" in err


def test_grafana_never_healthy(deployed, grafana):
    grafana.healthy = False
    assert_one_line_error(*provision(deployed, wait=1.0), "did not answer /api/health")
    assert grafana.writes() == []


def test_wrong_password(deployed, grafana):
    grafana.password = "something else"
    assert_one_line_error(*provision(deployed), "refused user 'admin'", "401")
    assert grafana.writes() == []


def test_invalid_dashboard_json_is_found_before_any_change(deployed, grafana, tmp_path):
    folder = tmp_path / "dashboards"
    shutil.copytree(FOLDER, folder)
    (folder / "zz-broken.json").write_text('{"uid": "broken", "title": ')
    assert_one_line_error(
        *provision(deployed, folder=folder), "zz-broken.json is not valid JSON", "nothing was changed"
    )
    assert grafana.requests == []


def test_private_grafana_needs_a_url(deployed, grafana):
    deployed["lite"]("sl-private", GrafanaUrl=None)
    assert_one_line_error(*provision(deployed, stack="sl-private"), "--grafana-url")
    code, _, err = provision(deployed, stack="sl-private", grafana_url=grafana.url)
    assert code == 0, err


def test_failing_datasource_health_is_reported(deployed, grafana):
    grafana.valid_tokens.clear()
    code, out, _ = provision(deployed)
    assert code == 1
    assert "datasource health check: FAILED: error reading InfluxDB" in out


def test_grafana_without_datasource_health(deployed, grafana):
    grafana.has_datasource_health = False
    code, out, _ = provision(deployed)
    assert code == 0 and "not available" in out


def test_plain_http_across_the_network_is_refused_before_any_request(deployed, grafana):
    code, out, err = provision(deployed, grafana_url="http://grafana.example.com")
    assert_one_line_error(code, out, err, "plain HTTP", "--allow-insecure-http")
    assert grafana.requests == []


def test_plain_http_refusal_can_be_overridden(deployed, grafana):
    # 192.0.2.1 (documentation range) answers nothing: the command gets past the
    # refusal and fails on the connection instead.
    code, out, err = provision(deployed, grafana_url="http://192.0.2.1:9", wait=0.5, allow_insecure_http=True)
    assert code == 1 and "plain HTTP" not in err


def test_loopback_http_is_allowed(deployed, grafana):
    from grafana.provision import refuse_plain_http

    for url in ("http://localhost:3000", "http://127.0.0.1:3000", "http://[::1]:3000", "https://grafana.example.com"):
        refuse_plain_http(url, False)
