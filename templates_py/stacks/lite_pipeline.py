"""Stream Lines lite data pipeline (add-on): ingest -> Kinesis upstream stream -> ripples -> InfluxDB, so the lite
profile's Grafana shows live data.

An add-on stack beside a deployed lite stack (parameter LiteStackName), so that
lite itself stays under the size `aws cloudformation deploy` takes inline and
costs nothing more when the pipeline is off: deploying this stack switches it
on, deleting it switches it off. Same building blocks, images and service
contract as the full profile (contracts/services.toml).

Creates: the upstream stream (generated name; PROVISIONED 1 shard / 24 h by
default, on-demand as an option); the downstream (results) stream ripples
requires, PROVISIONED with 1 shard and 24 h whatever StreamMode says (nothing
reads it in lite: the cheapest stream ripples can run with); ingest (public IP
for the market-data websocket) and ripples (writes InfluxDB with the write token
through lite's internal ALB, checkpoints in the app bucket) in lite's cluster,
VPC and public subnets; the one rule that admits ripples to lite's InfluxDB ALB.

Imports from foundations (FoundationsStackName): ECR repositories, app bucket,
market-data credentials and InfluxDB write token. From lite (LiteStackName):
VPC, subnets, cluster, InfluxDB URL, org, bucket, the InfluxDB ALB's group.
Exports: the stream names.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from troposphere import GetAtt, Join, Parameter, Ref, Select, Split, Template, ec2

from .. import exports, model
from ..blocks.alarms import alarm_notifications, service_alarm, stream_throttled
from ..blocks.fargate import Container, Placement, capacity_parameter, fargate_service
from ..blocks.network import AZ_COUNT, ImportedNetwork
from ..blocks.parameters import (
    FOUNDATIONS_PARAMETER,
    STACK_NAME_PATTERN,
    add_parameter,
    export_output,
    foundations_parameter,
    import_value,
    log_retention_parameter,
    new_template,
    task_size_parameters,
    wait_for,
)
from ..blocks.tags import tag_everything
from ..components import pipeline
from ..components.influxdb import INFLUXDB_PORT
from ..components.streams import cheapest_stream, stream, stream_parameters
from ..config import BuildConfig

PROFILE = "lite-pipeline"
MANIFEST = model.manifest(PROFILE)
LITE_PARAMETER = model.LITE_PARAMETER


def lite(name: str) -> Any:
    return import_value(name, LITE_PARAMETER)


class PipelineParameters(NamedTuple):
    """The stack's interface beyond FoundationsStackName and LiteStackName."""

    image_tags: dict[str, Parameter]
    ingest: Any
    capacity: Parameter
    streams: Any
    log_retention: Ref
    sizes: dict[str, tuple[Parameter, Parameter]]


def build(config: BuildConfig) -> Template:
    t = new_template(__doc__)
    p = _parameters(t, config)
    upstream = stream(t, "UpstreamStream", p.streams)
    # Nothing reads the results in lite, but ripples requires a stream to write them to.
    downstream = cheapest_stream(t, "DownstreamStream")
    subnets = Split(",", lite(exports.LITE_PUBLIC_SUBNET_IDS))
    network = ImportedNetwork(lite(exports.LITE_VPC_ID), [Select(index, subnets) for index in range(AZ_COUNT)])
    ingest = _service(t, config, p, network, model.INGEST, pipeline.ingest(p.ingest, upstream))
    ripples = _service(
        t,
        config,
        p,
        network,
        model.RIPPLES,
        pipeline.ripples(
            upstream,
            downstream,
            lite(exports.LITE_INFLUXDB_URL),
            lite(exports.LITE_INFLUXDB_ORG),
            lite(exports.LITE_INFLUXDB_BUCKET),
        ),
    )
    _admit_ripples_to_influxdb(t, ripples)
    _alarms(t, ingest, ripples, upstream, downstream)
    _outputs(t, upstream, downstream, ingest, ripples)
    tag_everything(t, config.project, PROFILE)
    return t


def _parameters(t: Template, config: BuildConfig) -> PipelineParameters:
    foundations_parameter(t)
    add_parameter(
        t,
        LITE_PARAMETER,
        description="Name of the deployed lite stack whose VPC, cluster and InfluxDB the pipeline uses.",
        Default="streamlines-lite",
        AllowedPattern=STACK_NAME_PATTERN,
        ConstraintDescription="a CloudFormation stack name: letters, digits and hyphens, starting with a letter.",
    )
    specs = MANIFEST.services
    return PipelineParameters(
        image_tags={spec.name: pipeline.image_tag_parameter(t, spec.name) for spec in specs},
        ingest=pipeline.ingest_parameters(t),
        capacity=capacity_parameter(t, "ingest and ripples"),
        streams=stream_parameters(t),
        log_retention=Ref(log_retention_parameter(t, config.log_retention_days)),
        sizes={
            spec.name: task_size_parameters(
                t,
                spec.name,
                spec.container,
                getattr(config, spec.container).cpu,
                getattr(config, spec.container).memory,
            )
            for spec in specs
        },
    )


def _service(
    t: Template,
    config: BuildConfig,
    p: PipelineParameters,
    network: ImportedNetwork,
    spec: model.Service,
    settings: pipeline.ContainerSettings,
) -> Any:
    cpu, memory = p.sizes[spec.name]
    return fargate_service(
        t,
        spec.name,
        cluster=lite(exports.LITE_CLUSTER_NAME),
        network=network,
        container=Container(
            image=Join(":", [import_value(exports.repository_uri(spec.repository)), Ref(p.image_tags[spec.name])]),
            port=None,
            cpu=cpu,
            memory=memory,
            architecture=getattr(config, spec.container).architecture,
            environment=settings.environment,
            secrets=settings.secrets,
        ),
        # Public subnets without a NAT gateway: a public IP reaches ECR,
        # Kinesis and Secrets Manager; the security group admits nothing.
        placement=Placement(
            subnets=network.public_subnet_ids,
            assign_public_ip="ENABLED",
            single_writer=spec.single_writer,
            capacity=p.capacity,
        ),
        log_retention=p.log_retention,
        repository_arns=[import_value(exports.repository_arn(spec.repository))],
        task_statements=settings.statements,
        description=spec.name,
    )


def _admit_ripples_to_influxdb(t: Template, ripples: Any) -> None:
    """The one way in to lite's InfluxDB from this stack: ripples' writes."""
    admit = t.add_resource(
        ec2.SecurityGroupIngress(
            "InfluxDbLoadBalancerFromRipples",
            GroupId=lite(exports.LITE_INFLUXDB_CLIENTS_GROUP),
            SourceSecurityGroupId=GetAtt(ripples.security_group, "GroupId"),
            IpProtocol="tcp",
            FromPort=INFLUXDB_PORT,
            ToPort=INFLUXDB_PORT,
            Description="InfluxDB writes from ripples (lite data pipeline)",
        )
    )
    wait_for(ripples.service, admit.title)


def _alarms(t: Template, ingest: Any, ripples: Any, upstream: Any, downstream: Any) -> None:
    alarms = alarm_notifications(t)
    for label, made in ((model.INGEST.description, ingest), (model.RIPPLES.description, ripples)):
        service_alarm(t, alarms, label, made.service, lite(exports.LITE_CLUSTER_NAME))
    stream_throttled(t, alarms, "UpstreamThrottled", upstream, "ingest")
    # Nothing reads it, but a refused write holds ripples up all the same.
    stream_throttled(t, alarms, "DownstreamThrottled", downstream, "ripples")
    pipeline.ingest_not_writing(t, alarms, upstream)


def _outputs(t: Template, upstream: Any, downstream: Any, ingest: Any, ripples: Any) -> None:
    export_output(t, "StackProfile", PROFILE, "Profile of this stack.")
    export_output(
        t, "FoundationsStack", Ref(FOUNDATIONS_PARAMETER), "Name of the foundations stack this stack imports from."
    )
    export_output(t, "LiteStack", Ref(LITE_PARAMETER), "Name of the lite stack whose InfluxDB the pipeline fills.")
    export_output(t, "UpstreamStreamName", Ref(upstream), "Kinesis stream ingest writes market data to.")
    export_output(
        t,
        "DownstreamStreamName",
        Ref(downstream),
        "Kinesis stream ripples writes results to (nothing reads it in lite).",
    )
    export_output(t, "IngestServiceName", GetAtt(ingest.service, "Name"), "Ingest ECS service name.")
    export_output(t, "RipplesServiceName", GetAtt(ripples.service, "Name"), "Ripples ECS service name.")
