"""The Fargate service building block: one call gives a service with its task
definition, security group, log group, roles and optional EFS volume.

InfluxDB, Grafana and the application services are all made with it, so a fix
here (a health check, a log setting, a least-privilege rule) reaches them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from awacs.aws import Statement
from troposphere import GetAtt, If, Ref, Sub, Template, ec2, ecs, iam, logs

from . import policies
from .network import ImportedNetwork, Network, allow_from_group, security_group
from .parameters import LOG_KEY_REASON, add_parameter, deleted_with_stack, skip_checkov, wait_for

# The cluster's association with the Fargate capacity providers; services that
# name a capacity provider wait for it.
CAPACITY_PROVIDERS = "ClusterCapacityProviders"
CAPACITIES = ["FARGATE", "FARGATE_SPOT"]


def capacity_parameter(t: Template, tolerant: str) -> Ref:
    """`Capacity`: FARGATE, or FARGATE_SPOT for the services `tolerant` names."""
    return Ref(
        add_parameter(
            t,
            "Capacity",
            description="FARGATE, or FARGATE_SPOT (cheaper; a task may be stopped with two minutes' notice and "
            f"replaced) for {tolerant}.",
            Default="FARGATE",
            AllowedValues=CAPACITIES,
        )
    )


def capacity_parameters(t: Template, tolerant: str) -> tuple[Ref, Ref]:
    """`Capacity` for the services that tolerate an interruption (`tolerant` names
    them) and `InfluxDbCapacity`, regular Fargate unless chosen explicitly.
    Fargate Spot takes tasks back with two minutes' notice, at a discount; it runs
    X86_64 and (platform 1.4.0, the default) ARM64 tasks.
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CapacityProviderStrategyItem.html"""
    service = capacity_parameter(t, tolerant)
    influxdb = add_parameter(
        t,
        "InfluxDbCapacity",
        description="FARGATE, or FARGATE_SPOT for InfluxDB too: an interruption stops writes and reads until "
        "the replacement task starts.",
        Default="FARGATE",
        AllowedValues=CAPACITIES,
    )
    return service, Ref(influxdb)


def cluster(t: Template, insights_reason: str) -> ecs.Cluster:
    """The profile's ECS cluster, its ContainerInsights parameter (off by default:
    its metrics cost more than the rest of a profile's monitoring) and its
    Fargate and Fargate Spot capacity providers (regular Fargate by default)."""
    insights = add_parameter(
        t,
        "ContainerInsights",
        description="CloudWatch Container Insights for the cluster (extra metrics, extra cost).",
        Default="disabled",
        AllowedValues=["enabled", "disabled"],
    )
    made = t.add_resource(
        ecs.Cluster("Cluster", ClusterSettings=[ecs.ClusterSetting(Name="containerInsights", Value=Ref(insights))])
    )
    skip_checkov(made, CKV_AWS_65=insights_reason)
    t.add_resource(
        ecs.ClusterCapacityProviderAssociations(
            CAPACITY_PROVIDERS,
            Cluster=Ref(made),
            CapacityProviders=CAPACITIES,
            DefaultCapacityProviderStrategy=[ecs.CapacityProviderStrategy(CapacityProvider="FARGATE", Weight=1)],
        )
    )
    return made


@dataclass(frozen=True)
class EfsMount:
    """An EFS access point mounted into the container, with IAM auth and TLS."""

    file_system_id: Any
    file_system_arn: Any
    access_point_id: Any
    access_point_arn: Any
    container_path: str


@dataclass(frozen=True)
class SecretKey:
    """One JSON key of a Secrets Manager secret, for ECS `valueFrom`."""

    secret_arn: Any
    key: str


def _value_from(secret: Any) -> Any:
    if isinstance(secret, SecretKey):
        return Sub("${SecretArn}:" + secret.key + "::", SecretArn=secret.secret_arn)
    return secret


def _secret_arn(secret: Any) -> Any:
    return secret.secret_arn if isinstance(secret, SecretKey) else secret


@dataclass(frozen=True)
class Container:
    """What runs in the task. Secrets map environment names to Secrets Manager ARNs (or `SecretKey`s)."""

    image: Any
    port: int | None
    cpu: Any
    memory: Any
    architecture: str
    environment: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, Any] = field(default_factory=dict)
    health_check: Sequence[str] | None = None
    health_check_start_period: int = 60
    mount: EfsMount | None = None
    readonly_root: bool = False


@dataclass(frozen=True)
class Placement:
    """Where the tasks run and how they are deployed."""

    subnets: Any
    assign_public_ip: Any
    desired_count: Any = 1
    # A single writer (InfluxDB, Grafana's SQLite) must stop before its successor starts.
    single_writer: bool = False
    depends_on: Sequence[str] = ()
    target_group: Any = None
    grace_period: int = 0
    # Attach to the target group (and give the grace period) only when this holds.
    load_balancer_condition: str | None = None
    registry_arn: Any = None
    # FARGATE or FARGATE_SPOT (a Ref to a capacity parameter).
    capacity: Any = "FARGATE"


@dataclass
class FargateService:
    name: str
    service: ecs.Service
    task_definition: ecs.TaskDefinition
    security_group: Any
    log_group: logs.LogGroup
    task_role: Any
    execution_role: Any

    def allow_from(
        self, t: Template, source: str, source_group: Any, port: Any, description: str
    ) -> ec2.SecurityGroupIngress:
        """Admit TCP `port` on this service's tasks from members of `source_group`
        (called `source`): the rule `<this service>From<source>`."""
        return allow_from_group(t, f"{self.name}From{source}", self.security_group, source_group, port, description)


def fargate_service(
    t: Template,
    name: str,
    *,
    cluster: Any,
    network: Network | ImportedNetwork,
    container: Container,
    placement: Placement,
    log_retention: Any,
    repository_arns: Sequence[Any] = (),
    task_statements: Sequence[Statement] = (),
    description: str,
    exec_condition: str | None = None,
) -> FargateService:
    """A Fargate service called `name` (PascalCase, used as the logical ID prefix).
    ECS Exec is on, or on when `exec_condition` holds (its permissions with it)."""
    log_group = t.add_resource(deleted_with_stack(logs.LogGroup(f"{name}LogGroup", RetentionInDays=log_retention)))
    skip_checkov(log_group, CKV_AWS_158=LOG_KEY_REASON)
    execution_role, task_role = _roles(t, name, container, log_group, repository_arns, task_statements, exec_condition)
    task_definition = _task_definition(t, name, container, log_group, execution_role, task_role, description)
    group = security_group(t, f"{name}SecurityGroup", network, f"{description} tasks")
    service = _service(t, name, cluster, network, container, placement, task_definition, group, exec_condition)
    return FargateService(
        name=name,
        service=service,
        task_definition=task_definition,
        security_group=group,
        log_group=log_group,
        task_role=task_role,
        execution_role=execution_role,
    )


def _roles(
    t: Template,
    name: str,
    container: Container,
    log_group: logs.LogGroup,
    repository_arns: Sequence[Any],
    task_statements: Sequence[Statement],
    exec_condition: str | None,
) -> tuple[iam.Role, iam.Role]:
    """The execution role (pull, secrets, logs) and the task role (what the container calls, EFS, ECS Exec)."""
    container_name = name.lower()
    execution_statements = [policies.write_logs([policies.log_group_arn(log_group)])]
    if repository_arns:
        execution_statements += policies.ecr_pull(repository_arns)
    if container.secrets:
        arns: list[Any] = []
        for _, secret in sorted(container.secrets.items()):
            if _secret_arn(secret) not in arns:
                arns.append(_secret_arn(secret))
        execution_statements.append(policies.read_secrets(arns))
    execution_role = t.add_resource(
        policies.role(
            f"{name}ExecutionRole",
            "ecs-tasks.amazonaws.com",
            execution_statements,
            "pull-image-read-secrets-write-logs",
        )
    )
    statements = list(task_statements) + ([policies.ecs_exec()] if exec_condition is None else [])
    if container.mount:
        statements.append(policies.efs_client(container.mount.file_system_arn, container.mount.access_point_arn))
    task_role = t.add_resource(
        policies.role(f"{name}TaskRole", "ecs-tasks.amazonaws.com", statements, f"{container_name}-task")
    )
    if exec_condition is not None:
        t.add_resource(
            iam.RolePolicy(
                f"{name}ExecPolicy",
                Condition=exec_condition,
                RoleName=Ref(task_role),
                PolicyName="ecs-exec",
                PolicyDocument=policies.as_dict(policies.document(policies.ecs_exec())),
            )
        )
    return execution_role, task_role


def _task_definition(
    t: Template,
    name: str,
    container: Container,
    log_group: logs.LogGroup,
    execution_role: iam.Role,
    task_role: iam.Role,
    description: str,
) -> ecs.TaskDefinition:
    """One essential container, its EFS volume if it has one, logs to its group."""
    container_name = name.lower()
    volumes, mount_points = [], []
    if container.mount:
        volumes.append(
            ecs.Volume(
                Name="data",
                EFSVolumeConfiguration=ecs.EFSVolumeConfiguration(
                    FilesystemId=container.mount.file_system_id,
                    TransitEncryption="ENABLED",
                    AuthorizationConfig=ecs.AuthorizationConfig(
                        AccessPointId=container.mount.access_point_id, IAM="ENABLED"
                    ),
                ),
            )
        )
        mount_points.append(
            ecs.MountPoint(SourceVolume="data", ContainerPath=container.mount.container_path, ReadOnly=False)
        )

    definition: dict[str, Any] = dict(
        Name=container_name,
        Image=container.image,
        Essential=True,
        PortMappings=[ecs.PortMapping(ContainerPort=container.port, Protocol="tcp")] if container.port else [],
        Environment=[ecs.Environment(Name=k, Value=v) for k, v in sorted(container.environment.items())],
        Secrets=[ecs.Secret(Name=k, ValueFrom=_value_from(v)) for k, v in sorted(container.secrets.items())],
        MountPoints=mount_points,
        ReadonlyRootFilesystem=container.readonly_root,
        # An init process reaps the ECS Exec agent's children.
        LinuxParameters=ecs.LinuxParameters(InitProcessEnabled=True),
        LogConfiguration=ecs.LogConfiguration(
            LogDriver="awslogs",
            Options={
                "awslogs-group": Ref(log_group),
                "awslogs-region": Ref("AWS::Region"),
                "awslogs-stream-prefix": container_name,
            },
        ),
    )
    if container.health_check:
        definition["HealthCheck"] = ecs.HealthCheck(
            Command=list(container.health_check),
            Interval=30,
            Timeout=5,
            Retries=3,
            StartPeriod=container.health_check_start_period,
        )
    task_definition = t.add_resource(
        ecs.TaskDefinition(
            f"{name}TaskDefinition",
            Family=Sub("${AWS::StackName}-" + container_name),
            RequiresCompatibilities=["FARGATE"],
            NetworkMode="awsvpc",
            Cpu=container.cpu,
            Memory=container.memory,
            RuntimePlatform=ecs.RuntimePlatform(CpuArchitecture=container.architecture, OperatingSystemFamily="LINUX"),
            ExecutionRoleArn=GetAtt(execution_role, "Arn"),
            TaskRoleArn=GetAtt(task_role, "Arn"),
            Volumes=volumes,
            ContainerDefinitions=[ecs.ContainerDefinition(**definition)],
        )
    )
    if not container.readonly_root:
        skip_checkov(
            task_definition,
            CKV_AWS_336=f"{description} writes outside its data volume (configuration, temporary files).",
        )
    return task_definition


def _service(
    t: Template,
    name: str,
    cluster: Any,
    network: Network | ImportedNetwork,
    container: Container,
    placement: Placement,
    task_definition: ecs.TaskDefinition,
    group: ec2.SecurityGroup,
    exec_condition: str | None,
) -> ecs.Service:
    """The service: its capacity, deployment, subnets, target group, and what it waits for."""
    container_name = name.lower()
    service_properties: dict[str, Any] = dict(
        Cluster=cluster,
        CapacityProviderStrategy=[ecs.CapacityProviderStrategyItem(CapacityProvider=placement.capacity, Weight=1)],
        TaskDefinition=Ref(task_definition),
        DesiredCount=placement.desired_count,
        DeploymentConfiguration=ecs.DeploymentConfiguration(
            MaximumPercent=100 if placement.single_writer else 200,
            MinimumHealthyPercent=0 if placement.single_writer else 100,
            DeploymentCircuitBreaker=ecs.DeploymentCircuitBreaker(Enable=True, Rollback=True),
        ),
        NetworkConfiguration=ecs.NetworkConfiguration(
            AwsvpcConfiguration=ecs.AwsvpcConfiguration(
                Subnets=placement.subnets,
                SecurityGroups=[GetAtt(group, "GroupId")],
                AssignPublicIp=placement.assign_public_ip,
            )
        ),
        EnableExecuteCommand=True if exec_condition is None else If(exec_condition, True, False),
        EnableECSManagedTags=True,
        PropagateTags="SERVICE",
    )
    if placement.target_group is not None:
        attachment: Any = [
            ecs.LoadBalancer(
                ContainerName=container_name, ContainerPort=container.port, TargetGroupArn=placement.target_group
            )
        ]
        grace: Any = placement.grace_period or None
        if placement.load_balancer_condition:
            # An empty list, not AWS::NoValue: only [] detaches the service from a
            # target group that the same update deletes.
            # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ecs-service.html#cfn-ecs-service-loadbalancers
            attachment = If(placement.load_balancer_condition, attachment, [])
            grace = If(placement.load_balancer_condition, grace, Ref("AWS::NoValue")) if grace else None
        service_properties["LoadBalancers"] = attachment
        if grace is not None:
            service_properties["HealthCheckGracePeriodSeconds"] = grace
    if placement.registry_arn is not None:
        service_properties["ServiceRegistries"] = [ecs.ServiceRegistry(RegistryArn=placement.registry_arn)]
    service = ecs.Service(f"{name}Service", **service_properties)
    # A capacity provider strategy needs the providers associated with the cluster
    # first (in this stack; an add-on's cluster has them already).
    if CAPACITY_PROVIDERS in t.resources:
        wait_for(service, CAPACITY_PROVIDERS)
    if placement.depends_on:
        wait_for(service, *placement.depends_on)
    if placement.assign_public_ip != "DISABLED" and network.internet_route:
        # Its tasks may hold public addresses: see Network.internet_route.
        wait_for(service, network.internet_route)
    if placement.assign_public_ip != "ENABLED" and network.private_routes:
        # Its tasks may run in private subnets: see Network.private_routes.
        wait_for(service, network.private_routes)
    t.add_resource(service)
    return service
