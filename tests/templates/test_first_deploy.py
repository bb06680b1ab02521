"""What makes a first deploy fail, roll back, or leave a stack that cannot be
updated or deleted, checked over every template in every parameter branch
(tests/templates/deploy_checks.py; `make prove-invariants` runs the same checks
over an older render to show what they catch)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streamlines.preflight import read_parameters_file
from templates_py.stacks import foundations

from . import deploy_checks
from .branches import BRANCHES, CERTIFICATE, CIDR, FULL_REQUIRED, LITE_REQUIRED, branch_ids

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("check", sorted(deploy_checks.CHECKS))
@pytest.mark.parametrize("stack,index", branch_ids(), ids=[f"{s}-{i}" for s, i in branch_ids()])
def test_every_branch_passes(templates, stack, index, check):
    assert deploy_checks.CHECKS[check](templates[stack], BRANCHES[stack][index]) == []


def test_the_checks_see_what_they_check(templates):
    """Each check has something to look at in some branch, so an empty answer means something."""
    lite, full = templates["lite"], templates["full"]
    resources = deploy_checks.live(full, FULL_REQUIRED)
    assert "PublicDefaultRoute" in deploy_checks.dependencies(resources, "IngestService")
    assert {"LogsEndpoint", "EndpointsFromRipples", "S3GatewayEndpoint"} <= deploy_checks.dependencies(
        resources, "RipplesService"
    )
    lite_resources = deploy_checks.live(lite, {**LITE_REQUIRED, "AllowedCidr": CIDR})
    grafana = deploy_checks.dependencies(lite_resources, "GrafanaService")
    assert {
        "GrafanaFromLoadBalancer",
        "FileSystemFromGrafana",
        "FileSystemMountTarget1",
        "GrafanaHttpListener",
        "PublicDefaultRoute",
    } <= grafana
    assert "InfluxDbLoadBalancerFromTokenAgent" in deploy_checks.dependencies(lite_resources, "InfluxTokens")
    assert "InternetGatewayAttachment" in deploy_checks.dependencies(lite_resources, "GrafanaLoadBalancer")


@pytest.mark.parametrize("stack", ["lite", "full"])
def test_a_first_deploy_into_a_fresh_account_needs_no_account_settings(templates, stack):
    """Stage access logging needs the account's API Gateway CloudWatch role: off by default."""
    template = templates[stack]
    for values in BRANCHES[stack]:
        for logical_id, resource in deploy_checks.live(template, values).items():
            if resource["Type"] == "AWS::ApiGatewayV2::Stage":
                has_logs = "AccessLogSettings" in resource["Properties"]
                assert has_logs == (values.get("WebSocketAccessLogs") == "enabled"), logical_id
    if stack == "full":
        assert template["Parameters"]["WebSocketAccessLogs"]["Default"] == "disabled"


@pytest.mark.parametrize(
    "stack, values, refused",
    [
        (
            "lite",
            {**LITE_REQUIRED, "AllowedCidr": CIDR, "CertificateArn": CERTIFICATE},
            "GrafanaDomainName must be set",
        ),
        ("full", {**FULL_REQUIRED, "CertificateArn": CERTIFICATE}, "BackendDomainName must be set"),
        (
            "full",
            {**FULL_REQUIRED, "CertificateArn": CERTIFICATE, "BackendDomainName": "api.example.com"},
            "DashboardDomainName must be set",
        ),
        ("lite", {**LITE_REQUIRED}, "AllowedCidr must be set"),
    ],
)
def test_rules_refuse_a_certificate_without_the_names_it_must_cover(templates, stack, values, refused):
    broken = deploy_checks.rules_refuse(templates[stack], values)
    assert any(message.startswith(refused) for message in broken), broken


@pytest.mark.parametrize("stack,index", branch_ids(), ids=[f"{s}-{i}" for s, i in branch_ids()])
def test_the_tested_branches_are_ones_the_rules_accept(templates, stack, index):
    values = BRANCHES[stack][index]
    expected = []
    if stack == "lite" and values.get("GrafanaExposure", "public") == "public" and not values.get("AllowedCidr"):
        # The default lite branch is linted as rendered; deploying it needs AllowedCidr.
        expected = ["AllowedCidr must be set when GrafanaExposure is public."]
    assert deploy_checks.rules_refuse(templates[stack], values) == expected


def test_https_settings_use_the_domain_names(templates):
    lite = deploy_checks.live(templates["lite"], BRANCHES["lite"][2])
    environment = {
        e["Name"]: e["Value"]
        for e in lite["GrafanaTaskDefinition"]["Properties"]["ContainerDefinitions"][0]["Environment"]
    }
    assert environment["GF_SERVER_ROOT_URL"] == {
        "Fn::Sub": ["https://${Domain}", {"Domain": {"Ref": "GrafanaDomainName"}}]
    }
    redirect = lite["GrafanaHttpListener"]["Properties"]["DefaultActions"][0]["RedirectConfig"]
    assert redirect["Host"] == {"Ref": "GrafanaDomainName"} and redirect["Protocol"] == "HTTPS"
    full = templates["full"]
    outputs = {
        name: deploy_checks.resolve(output["Value"], full, BRANCHES["full"][3], parameters=False)
        for name, output in full["Outputs"].items()
    }
    assert outputs["BackendUrl"] == {"Fn::Sub": ["https://${Domain}", {"Domain": {"Ref": "BackendDomainName"}}]}
    assert outputs["DashboardUrl"] == {"Fn::Sub": ["https://${Domain}", {"Domain": {"Ref": "DashboardDomainName"}}]}


def test_grafana_alias_points_at_its_alb(templates):
    values = BRANCHES["lite"][2]
    resources = deploy_checks.live(templates["lite"], values)
    record = resources["GrafanaAliasRecord"]["Properties"]
    assert record["Name"] == {"Ref": "GrafanaDomainName"} and record["AliasTarget"]["DNSName"] == {
        "Fn::GetAtt": ["GrafanaLoadBalancer", "DNSName"]
    }
    assert "GrafanaAliasRecord" not in deploy_checks.live(templates["lite"], BRANCHES["lite"][3])


def test_cloudfront_aliases_cover_ipv4_and_ipv6(templates):
    template = templates["cloudfront"]
    values = BRANCHES["cloudfront"][2]
    resources = deploy_checks.live(template, values)
    assert resources["Distribution"]["Properties"]["DistributionConfig"]["IPV6Enabled"] is True
    records = sorted(r["Properties"]["Type"] for r in resources.values() if r["Type"] == "AWS::Route53::RecordSet")
    assert records == ["A", "AAAA"]


def test_switching_grafana_off_detaches_it_with_an_empty_list(templates):
    template = templates["lite"]
    off = deploy_checks.live(template, {**LITE_REQUIRED, "GrafanaExposure": "none"})
    assert off["GrafanaService"]["Properties"]["LoadBalancers"] == []
    on = deploy_checks.live(template, {**LITE_REQUIRED, "AllowedCidr": CIDR})
    assert on["GrafanaService"]["Properties"]["LoadBalancers"][0]["ContainerPort"] == 3000


def test_grafana_first_boot_has_room(templates):
    """SQLite on EFS and Grafana's migrations on first boot: the longest start period ECS allows, a long grace."""
    resources = templates["lite"]["Resources"]
    assert (
        resources["GrafanaTaskDefinition"]["Properties"]["ContainerDefinitions"][0]["HealthCheck"]["StartPeriod"] == 300
    )
    assert (
        deploy_checks.resolve(
            resources["GrafanaService"]["Properties"]["HealthCheckGracePeriodSeconds"],
            templates["lite"],
            {"AllowedCidr": CIDR},
        )
        >= 600
    )


def test_default_images_are_pinned_and_need_no_docker_hub(templates, config):
    lite = deploy_checks.live(templates["lite"], {**LITE_REQUIRED, "AllowedCidr": CIDR})
    image = lite["GrafanaTaskDefinition"]["Properties"]["ContainerDefinitions"][0]["Image"]
    assert image == {
        "Fn::Join": [
            ":",
            [
                {"Fn::ImportValue": {"Fn::Sub": "${FoundationsStackName}-EcrRepositoryGrafanaUri"}},
                config.grafana_image.rsplit(":", 1)[1],
            ],
        ]
    }
    for stack in ("lite", "full"):
        assert templates[stack]["Parameters"]["InfluxDbImage"]["Default"].startswith(
            "public.ecr.aws/docker/library/influxdb:2."
        )


def test_shipped_parameters_files_deploy(templates):
    """deploy/*.parameters name only parameters their template has, and pass the template's Rules and checks."""
    for stack in ("lite", "full", "cloudfront"):
        values = read_parameters_file(ROOT / "deploy" / f"{stack}.parameters")
        assert set(values) <= set(templates[stack]["Parameters"]), stack
        required = {"lite": LITE_REQUIRED, "full": FULL_REQUIRED}.get(stack, {})
        merged = {**required, **values}
        for name, check in deploy_checks.CHECKS.items():
            assert check(templates[stack], merged) == [], (stack, name)


# A new GenerateSecretString (any property of it) or a new placeholder makes
# CloudFormation generate or write a new value on the next update: the InfluxDB
# admin password and token would no longer match the data on EFS (setup ran once
# with the old ones), and the token issuer would lose the tokens it stored. These
# properties are pinned: changing them is a data migration, not an edit.
PINNED_SECRETS = {
    "InfluxDbAdminPassword": {"GenerateSecretString": {"ExcludePunctuation": True, "PasswordLength": 32}},
    "InfluxDbAdminToken": {"GenerateSecretString": {"ExcludePunctuation": True, "PasswordLength": 48}},
    "InfluxDbReadToken": {"SecretString": json.dumps({"authorizationID": "", "token": "PLACEHOLDER"}, sort_keys=True)},
    "InfluxDbWriteToken": {"SecretString": json.dumps({"authorizationID": "", "token": "PLACEHOLDER"}, sort_keys=True)},
    "GrafanaAdminPassword": {"GenerateSecretString": {"ExcludePunctuation": True, "PasswordLength": 32}},
    "MarketDataApiCredentials": {
        "SecretString": json.dumps(
            {"apiKey": "PLACEHOLDER", "apiSecret": "PLACEHOLDER", "topTickersToken": "PLACEHOLDER"}, sort_keys=True
        )
    },
}


def test_secret_values_are_pinned(templates):
    resources = templates["foundations"]["Resources"]
    assert set(foundations.SECRETS) == set(PINNED_SECRETS)
    for logical_id, pinned in PINNED_SECRETS.items():
        properties = resources[logical_id]["Properties"]
        value = {key: properties[key] for key in ("GenerateSecretString", "SecretString") if key in properties}
        assert value == pinned, f"{logical_id}: changing how its value is made rewrites the secret on the next update"


# --- round 2: what the second review found (issue 21) ---------------------------------------------


@pytest.mark.parametrize("stack", ["lite", "full"])
def test_every_image_shape_a_parameter_accepts_is_pullable(templates, stack):
    """Each image reference an image parameter accepts, in every branch, is one its
    execution role can pull; every private ECR shape is refused by the pattern."""
    template = templates[stack]
    accepted = deploy_checks.image_shape_branches(template, BRANCHES[stack])
    assert accepted, "no image shape is accepted at all"
    for values in accepted:
        assert deploy_checks.images_pullable_by_their_role(template, values) == [], values
    for parameter, (name, tag) in deploy_checks.IMAGE_PARAMETERS.items():
        if parameter not in template["Parameters"]:
            continue
        for shape in deploy_checks.IMAGE_SHAPES:
            value = shape.format(name=name, tag=tag)
            private = deploy_checks.PRIVATE_ECR.match(value) is not None
            assert deploy_checks.accepts(template, parameter, value) is not private, (parameter, value)


def test_the_round_2_checks_see_what_they_check(templates):
    """Each new check has its subject in the branches it runs over, so its empty answer means something."""
    full, lite = templates["full"], templates["lite"]
    nat = deploy_checks.live(full, {**FULL_REQUIRED, "NetworkMode": "nat"})
    for service in ("InfluxDbService", "IngestService", "RipplesService", "BackendService", "DashboardService"):
        waits = deploy_checks.dependencies(nat, service)
        assert {
            "PrivateDefaultRoute",
            "PrivateSubnet1RouteTableAssociation",
            "PrivateSubnet2RouteTableAssociation",
        } <= waits, service
        assert deploy_checks.routes_of(nat, "PrivateSubnet1") == {
            "PrivateDefaultRoute",
            "PrivateSubnet1RouteTableAssociation",
        }
    public = deploy_checks.live(lite, {**LITE_REQUIRED, "AllowedCidr": CIDR})
    assert {
        "PublicSubnet1RouteTableAssociation",
        "PublicSubnet2RouteTableAssociation",
        "PublicDefaultRoute",
    } <= deploy_checks.dependencies(public, "GrafanaLoadBalancer")
    assert deploy_checks.routes_of(public, "PublicSubnet2") == {
        "PublicDefaultRoute",
        "PublicSubnet2RouteTableAssociation",
    }

    # The single writers and the listening containers are there to be checked.
    names = {
        container["Name"]: service
        for _, service, container in deploy_checks._containers(deploy_checks.live(full, FULL_REQUIRED))
    }
    assert {"ingest", "influxdb", "backend", "dashboard"} <= set(names)
    assert names["ingest"]["Properties"]["DeploymentConfiguration"]["MaximumPercent"] == 100
    # The alarm schedule names alarms the check then compares.
    scheduled = deploy_checks.live(full, {**FULL_REQUIRED, "ActiveHours": "scheduled"})
    assert {
        "${AWS::StackName}-ingest-not-serving",
        "${AWS::StackName}-ingest-not-writing",
    } <= deploy_checks._alarm_names_paused(scheduled)


def test_a_planted_fault_of_each_kind_is_caught(templates):
    """Each round-2 check fails on the defect it is named after, planted in today's render."""
    import copy

    full = copy.deepcopy(templates["full"])
    resources = full["Resources"]
    ingest = resources["IngestTaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    ingest["HealthCheck"] = {"Command": ["CMD-SHELL", "curl -f http://127.0.0.1:8080/health"]}
    assert deploy_checks.health_checks_the_image_can_pass(full, FULL_REQUIRED)
    resources["IngestService"]["Properties"]["DeploymentConfiguration"].update(
        MaximumPercent=200, MinimumHealthyPercent=100
    )
    assert deploy_checks.single_writers_never_overlap(full, FULL_REQUIRED)
    dashboard = resources["DashboardTaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    dashboard["Environment"] = [e for e in dashboard["Environment"] if e["Name"] != "PORT"]
    assert deploy_checks.containers_listen_where_traffic_goes(full, {**FULL_REQUIRED, "DashboardPort": "8080"})
    resources["PrivateRoutesReady"]["Metadata"].pop("PrivateDefaultRoute")
    assert deploy_checks.placed_resources_wait_for_their_routes(full, {**FULL_REQUIRED, "NetworkMode": "nat"})
    resources["AlarmsStartSchedule"]["Properties"]["Target"]["Arn"] = (
        "arn:aws:scheduler:::aws-sdk:cloudwatch:enableAlarmActions"
    )
    assert deploy_checks.arns_name_their_partition(full, {**FULL_REQUIRED, "ActiveHours": "scheduled"})
    resources["IngestNotWriting"]["Properties"]["AlarmDescription"] = "constant"
    assert deploy_checks.alarm_actions_come_back_on(full, FULL_REQUIRED)

    lite = copy.deepcopy(templates["lite"])
    lite["Parameters"]["GrafanaImage"]["AllowedPattern"] = "^.*$"
    assert deploy_checks.images_pullable_by_their_role(
        lite, {**LITE_REQUIRED, "GrafanaImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/grafana:12.1.1"}
    )


@pytest.mark.parametrize("stack", ["full", "lite-pipeline"])
def test_ingest_is_watched_by_what_it_writes(templates, stack):
    """Ingest has no health signal: an alarm on its stream's IncomingRecords, breaching when nothing arrives."""
    template = templates[stack]
    alarm = template["Resources"]["IngestNotWriting"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("AWS/Kinesis", "IncomingRecords", "Sum")
    assert alarm["Dimensions"] == [{"Name": "StreamName", "Value": {"Ref": "UpstreamStream"}}]
    assert (alarm["ComparisonOperator"], alarm["Threshold"], alarm["TreatMissingData"]) == (
        "LessThanThreshold",
        1,
        "breaching",
    )
    assert alarm["EvaluationPeriods"] * alarm["Period"] == 900


def _planted(template: dict, plant) -> dict:
    import copy

    changed = copy.deepcopy(template)
    plant(changed["Resources"])
    return changed


def _drop_action(resources: dict, role: str, action: str) -> None:
    for policy in resources[role]["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if isinstance(statement["Action"], list) and action in statement["Action"]:
                statement["Action"] = [a for a in statement["Action"] if a != action]


WIRING_FAULTS = {
    # (stack, values, the fault, the check that must see it)
    "a rule admitting the ALB on another port than the target's": (
        "lite",
        {**LITE_REQUIRED, "AllowedCidr": CIDR},
        lambda r: r["GrafanaFromLoadBalancer"]["Properties"].update(FromPort=3001, ToPort=3001),
        deploy_checks.clients_reach_the_port_their_target_serves,
    ),
    "a Lambda role without its on-failure destination": (
        "full",
        FULL_REQUIRED,
        lambda r: _drop_action(r, "ResultsPusherRole", "sqs:SendMessage"),
        deploy_checks.roles_grant_what_their_integrations_need,
    ),
    "an EFS client statement without the write action": (
        "lite",
        LITE_REQUIRED,
        lambda r: _drop_action(r, "GrafanaTaskRole", "elasticfilesystem:ClientWrite"),
        deploy_checks.roles_grant_what_their_integrations_need,
    ),
    "an execution role that cannot read a secret its container reads": (
        "full",
        FULL_REQUIRED,
        lambda r: _drop_action(r, "BackendExecutionRole", "secretsmanager:GetSecretValue"),
        deploy_checks.roles_grant_what_their_integrations_need,
    ),
    "an execution role that cannot write its log group": (
        "lite",
        LITE_REQUIRED,
        lambda r: _drop_action(r, "InfluxDbExecutionRole", "logs:PutLogEvents"),
        deploy_checks.roles_grant_what_their_integrations_need,
    ),
    "a log group whose retention ignores LogRetentionDays": (
        "full",
        FULL_REQUIRED,
        lambda r: r["RipplesLogGroup"]["Properties"].update(RetentionInDays=30),
        deploy_checks.parameters_reach_what_they_govern,
    ),
    "an alarm that does not notify AlarmEmail": (
        "full",
        {**FULL_REQUIRED, "AlarmEmail": "ops@example.com"},
        lambda r: r["IngestNotWriting"]["Properties"].pop("AlarmActions"),
        deploy_checks.parameters_reach_what_they_govern,
    ),
    "a task definition sized by a constant": (
        "lite",
        LITE_REQUIRED,
        lambda r: r["InfluxDbTaskDefinition"]["Properties"].update(Cpu="512"),
        deploy_checks.parameters_reach_what_they_govern,
    ),
    "a service admitted to InfluxDB on a port it does not listen on": (
        "full",
        FULL_REQUIRED,
        lambda r: r["InfluxDbFromBackend"]["Properties"].update(FromPort=8087, ToPort=8087),
        deploy_checks.clients_reach_the_port_their_target_serves,
    ),
    "a default schedule with both day fields set": (
        "full",
        {**FULL_REQUIRED, "ActiveHours": "scheduled"},
        lambda r: r["BackendStartSchedule"]["Properties"].update(ScheduleExpression="cron(0 9 * * MON-FRI *)"),
        deploy_checks.schedules_are_valid_cron,
    ),
    "an image whose tag is not its ImageTag parameter": (
        "full",
        FULL_REQUIRED,
        lambda r: r["RipplesTaskDefinition"]["Properties"]["ContainerDefinitions"][0]["Image"]["Fn::Join"][
            1
        ].__setitem__(1, {"Ref": "IngestImageTag"}),
        deploy_checks.parameters_reach_what_they_govern,
    ),
}


@pytest.mark.parametrize("fault", sorted(WIRING_FAULTS))
def test_each_wiring_check_fails_on_its_planted_fault(templates, fault):
    stack, values, plant, check = WIRING_FAULTS[fault]
    assert check(templates[stack], values) == []
    assert check(_planted(templates[stack], plant), values), fault
