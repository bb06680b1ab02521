"""VPC building blocks: public subnets in two AZs, and optionally private subnets.

Subnet CIDRs are carved from the `VpcCidr` parameter with Fn::Cidr (/24 each),
so an operator changes one parameter, not four.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from troposphere import Cidr, GetAtt, GetAZs, If, Ref, Select, Sub, Template, cloudformation, ec2

from ..config import BuildConfig
from .parameters import add_parameter

AZ_COUNT = 2
CIDR_PATTERN = r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})/(\d{1,2})$"
VPC_CIDR_PATTERN = r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})/(1[6-9]|2[0-2])$"


# The public default route; it depends on the gateway attachment.
INTERNET_ROUTE = "PublicDefaultRoute"
# Handles that wait for each route a subnet's traffic takes and for the subnets'
# route-table associations: until its association exists a subnet uses the VPC's
# main route table, which has the local route only.
# https://docs.aws.amazon.com/vpc/latest/userguide/VPC_Route_Tables.html#RouteTables
PUBLIC_ROUTES_READY = "PublicRoutesReady"
PRIVATE_ROUTES_READY = "PrivateRoutesReady"


@dataclass
class Network:
    vpc: ec2.VPC
    public_subnets: list[ec2.Subnet]
    private_subnets: list[ec2.Subnet] = field(default_factory=list)
    # Logical ID that anything holding a public address must depend on: an
    # internet-facing ALB made before the gateway is attached fails ("VPC has no
    # internet gateway"), and on delete the gateway cannot detach while public
    # addresses remain (DELETE_FAILED). docs/architecture.md, "Creation order".
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-dependson.html#gatewayattachment
    # It is a handle that waits for the public default route and for the public
    # subnets' route-table associations.
    internet_route: str = PUBLIC_ROUTES_READY
    # The same for private subnets (their associations and, with a NAT gateway,
    # its route): tasks there wait for it before their first image pull.
    private_routes: str | None = None

    @property
    def vpc_id(self) -> Any:
        return Ref(self.vpc)

    @property
    def public_subnet_ids(self) -> list[Any]:
        return [Ref(s) for s in self.public_subnets]

    @property
    def private_subnet_ids(self) -> list[Any]:
        return [Ref(s) for s in self.private_subnets]


@dataclass
class ImportedNetwork:
    """Another stack's VPC (an add-on's view of it): its id and public subnets. Its
    internet route belongs to that stack, which exists before the add-on does."""

    vpc_id: Any
    public_subnet_ids: list[Any]
    internet_route: str | None = None
    private_routes: str | None = None


def vpc_with_public_subnets(t: Template, config: BuildConfig) -> Network:
    """A VPC with an internet gateway and one public subnet per AZ (no NAT, no endpoints)."""
    cidr = add_parameter(
        t,
        "VpcCidr",
        description="CIDR block of the VPC, /16 to /22; the subnets are the first /24 blocks in it.",
        Default=config.vpc_cidr,
        AllowedPattern=VPC_CIDR_PATTERN,
        ConstraintDescription="an IPv4 CIDR block with a prefix from /16 to /22, such as 10.20.0.0/16.",
    )
    vpc = t.add_resource(
        ec2.VPC(
            "Vpc",
            CidrBlock=Ref(cidr),
            # EFS mounts by DNS name; they fail with DNS hostnames off.
            EnableDnsHostnames=True,
            EnableDnsSupport=True,
        )
    )
    gateway = t.add_resource(ec2.InternetGateway("InternetGateway"))
    attachment = t.add_resource(
        ec2.VPCGatewayAttachment("InternetGatewayAttachment", VpcId=Ref(vpc), InternetGatewayId=Ref(gateway))
    )
    route_table = t.add_resource(ec2.RouteTable("PublicRouteTable", VpcId=Ref(vpc)))
    route = t.add_resource(
        ec2.Route(
            INTERNET_ROUTE,
            DependsOn=[attachment.title],
            RouteTableId=Ref(route_table),
            DestinationCidrBlock="0.0.0.0/0",
            GatewayId=Ref(gateway),
        )
    )
    subnets, associations = [], []
    for index in range(AZ_COUNT):
        subnet = t.add_resource(
            ec2.Subnet(
                f"PublicSubnet{index + 1}",
                VpcId=Ref(vpc),
                AvailabilityZone=Select(index, GetAZs("")),
                CidrBlock=Select(index, Cidr(GetAtt(vpc, "CidrBlock"), 4, 8)),
                # Tasks ask for a public IP themselves; nothing else here should get one.
                MapPublicIpOnLaunch=False,
            )
        )
        associations.append(
            t.add_resource(
                ec2.SubnetRouteTableAssociation(
                    f"PublicSubnet{index + 1}RouteTableAssociation", SubnetId=Ref(subnet), RouteTableId=Ref(route_table)
                )
            )
        )
        subnets.append(subnet)
    _routes_ready(t, PUBLIC_ROUTES_READY, {route.title: Ref(route), **{a.title: Ref(a) for a in associations}})
    return Network(vpc=vpc, public_subnets=subnets)


def _routes_ready(t: Template, logical_id: str, waits_for: dict[str, Any]) -> None:
    """A handle that exists in every branch and waits for `waits_for` (DependsOn
    cannot name a resource whose condition may be false; a reference in an
    Fn::If can)."""
    t.add_resource(cloudformation.WaitConditionHandle(logical_id, Metadata=waits_for))


def security_group(
    t: Template, logical_id: str, network: "Network | ImportedNetwork", description: str, **kwargs: Any
) -> ec2.SecurityGroup:
    return t.add_resource(ec2.SecurityGroup(logical_id, GroupDescription=description, VpcId=network.vpc_id, **kwargs))


def allow_from_group(
    t: Template,
    logical_id: str,
    target: ec2.SecurityGroup,
    source: ec2.SecurityGroup,
    port: int,
    description: str,
    **kwargs: Any,
) -> ec2.SecurityGroupIngress:
    """Admit TCP `port` on `target` from members of `source` only."""
    return t.add_resource(
        ec2.SecurityGroupIngress(
            logical_id,
            GroupId=GetAtt(target, "GroupId"),
            SourceSecurityGroupId=GetAtt(source, "GroupId"),
            IpProtocol="tcp",
            FromPort=port,
            ToPort=port,
            Description=description,
            **kwargs,
        )
    )


# Interface endpoints private tasks need in `endpoints` mode: logical ID prefix -> service.
INTERFACE_ENDPOINTS = {
    "Logs": "logs",
    "EcrApi": "ecr.api",
    "EcrDkr": "ecr.dkr",
    "SecretsManager": "secretsmanager",
    "KinesisStreams": "kinesis-streams",
    "ElasticFileSystem": "elasticfilesystem",
    "SsmMessages": "ssmmessages",
}


@dataclass
class Endpoints:
    """The interface endpoints of `endpoints` mode, their security group, the S3
    gateway endpoint, and the rules that admit each client (`admit_to_endpoints`)."""

    security_group: ec2.SecurityGroup
    condition: str
    gateway: str
    interfaces: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    # Endpoints that exist under a narrower condition than `condition`.
    conditions: dict[str, str] = field(default_factory=dict)

    def ready(self, t: Template) -> cloudformation.WaitConditionHandle:
        """A handle that exists in every mode and, in endpoints mode, waits for every
        endpoint and every admitting rule: private tasks depend on it, so their
        first image pull and secret fetch find the endpoints in place (DependsOn
        cannot name a resource whose condition may be false)."""
        wanted = {
            logical_id: If(self.conditions.get(logical_id, self.condition), Ref(logical_id), "")
            for logical_id in [*self.interfaces, *self.rules]
        }
        return t.add_resource(
            cloudformation.WaitConditionHandle(
                "EndpointsReady", Metadata={"S3GatewayEndpoint": Ref(self.gateway), **wanted}
            )
        )


def add_private_subnets(
    t: Template,
    network: Network,
    *,
    nat_condition: str,
    endpoints_condition: str,
    endpoint_conditions: dict[str, str] | None = None,
) -> Endpoints:
    """Private subnets in the same AZs, and what lets their tasks reach AWS:
    a NAT gateway (`nat_condition`) or interface endpoints (`endpoints_condition`).
    The S3 gateway endpoint is always there: it is free and carries ECR's image
    layers. `admit_to_endpoints` opens the endpoints to a client."""
    route_table = t.add_resource(ec2.RouteTable("PrivateRouteTable", VpcId=Ref(network.vpc)))
    associations = []
    for index in range(AZ_COUNT):
        subnet = t.add_resource(
            ec2.Subnet(
                f"PrivateSubnet{index + 1}",
                VpcId=Ref(network.vpc),
                AvailabilityZone=Select(index, GetAZs("")),
                CidrBlock=Select(AZ_COUNT + index, Cidr(GetAtt(network.vpc, "CidrBlock"), 4, 8)),
                MapPublicIpOnLaunch=False,
            )
        )
        associations.append(
            t.add_resource(
                ec2.SubnetRouteTableAssociation(
                    f"PrivateSubnet{index + 1}RouteTableAssociation",
                    SubnetId=Ref(subnet),
                    RouteTableId=Ref(route_table),
                )
            )
        )
        network.private_subnets.append(subnet)

    address = t.add_resource(
        ec2.EIP("NatGatewayAddress", Condition=nat_condition, DependsOn=[network.internet_route], Domain="vpc")
    )
    # One NAT gateway, not one per AZ: the earlier app's cost profile; an AZ outage
    # then cuts private egress, which this platform tolerates.
    nat = t.add_resource(
        ec2.NatGateway(
            "NatGateway",
            Condition=nat_condition,
            DependsOn=[network.internet_route],
            AllocationId=GetAtt(address, "AllocationId"),
            SubnetId=Ref(network.public_subnets[0]),
        )
    )
    nat_route = t.add_resource(
        ec2.Route(
            "PrivateDefaultRoute",
            Condition=nat_condition,
            RouteTableId=Ref(route_table),
            DestinationCidrBlock="0.0.0.0/0",
            NatGatewayId=Ref(nat),
        )
    )
    # The NAT gateway takes minutes to become available; a task started before its
    # route exists cannot pull its image or read its secrets.
    _routes_ready(
        t,
        PRIVATE_ROUTES_READY,
        {nat_route.title: If(nat_condition, Ref(nat_route), ""), **{a.title: Ref(a) for a in associations}},
    )
    network.private_routes = PRIVATE_ROUTES_READY
    gateway = t.add_resource(
        ec2.VPCEndpoint(
            "S3GatewayEndpoint",
            VpcId=Ref(network.vpc),
            ServiceName=Sub("com.amazonaws.${AWS::Region}.s3"),
            VpcEndpointType="Gateway",
            RouteTableIds=[Ref(route_table)],
        )
    )
    group = security_group(
        t,
        "EndpointSecurityGroup",
        network,
        "Interface endpoints; admit HTTPS from the service security groups",
        Condition=endpoints_condition,
    )
    endpoints = Endpoints(group, endpoints_condition, gateway.title)
    for prefix, service in INTERFACE_ENDPOINTS.items():
        endpoints.interfaces.append(f"{prefix}Endpoint")
        condition = (endpoint_conditions or {}).get(prefix, endpoints_condition)
        if condition != endpoints_condition:
            endpoints.conditions[f"{prefix}Endpoint"] = condition
        t.add_resource(
            ec2.VPCEndpoint(
                f"{prefix}Endpoint",
                Condition=condition,
                VpcId=Ref(network.vpc),
                ServiceName=Sub("com.amazonaws.${AWS::Region}." + service),
                VpcEndpointType="Interface",
                PrivateDnsEnabled=True,
                SubnetIds=network.private_subnet_ids,
                SecurityGroupIds=[GetAtt(group, "GroupId")],
            )
        )
    return endpoints


def admit_to_endpoints(t: Template, name: str, endpoints: Endpoints, client: Any) -> ec2.SecurityGroupIngress:
    rule = allow_from_group(
        t,
        f"EndpointsFrom{name}",
        endpoints.security_group,
        client,
        443,
        f"AWS APIs through interface endpoints for {name}",
        Condition=endpoints.condition,
    )
    endpoints.rules.append(rule.title)
    return rule
