"""Application load balancer building blocks: the internal InfluxDB ALB and the
public HTTP(S) ALBs in front of Grafana, backend and dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from troposphere import And, Condition, GetAtt, If, Not, Ref, Sub, Template, cloudformation, ec2, route53
from troposphere import elasticloadbalancingv2 as elb

from .network import Network, allow_from_group, security_group
from .parameters import skip_checkov

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
ATTRIBUTES = [
    elb.LoadBalancerAttributes(Key="routing.http.drop_invalid_header_fields.enabled", Value="true"),
    elb.LoadBalancerAttributes(Key="idle_timeout.timeout_seconds", Value="60"),
]
# Access logs need a log bucket per region and cost more than they tell here.
ACCESS_LOGS_REASON = "Access logs need a log bucket per region; the ALB's CloudWatch metrics are on."
# The public HTTP listeners serve plain HTTP only when the operator gives no certificate.
PLAIN_HTTP_REASONS = {
    "CKV_AWS_2": "Plain HTTP only without a certificate (the operator's choice); else it redirects.",
    "CKV_AWS_103": "As CKV_AWS_2: plain HTTP only without a certificate.",
}


@dataclass
class LoadBalancer:
    load_balancer: elb.LoadBalancer
    target_group: elb.TargetGroup
    security_group: ec2.SecurityGroup
    # Services behind the ALB depend on this so that their target group is attached
    # to a listener before ECS registers targets (even when the ALB is conditional).
    ready: cloudformation.WaitConditionHandle
    condition: str | None = None

    def admit(
        self, t: Template, logical_id: str, service_group: Any, port: Any, description: str
    ) -> ec2.SecurityGroupIngress:
        """Let the ALB reach the service's port; `ready` waits for the rule too, so
        the first health checks are not refused."""
        kwargs = {"Condition": self.condition} if self.condition else {}
        rule = allow_from_group(t, logical_id, service_group, self.security_group, port, description, **kwargs)
        self.ready.Metadata[logical_id] = If(self.condition, Ref(rule), "") if self.condition else Ref(rule)
        return rule


def _target_group(
    t: Template, name: str, network: Network, port: int, health_path: str, condition: str | None
) -> elb.TargetGroup:
    group = elb.TargetGroup(
        f"{name}TargetGroup",
        VpcId=Ref(network.vpc),
        Port=port,
        Protocol="HTTP",
        TargetType="ip",
        HealthCheckPath=health_path,
        HealthCheckIntervalSeconds=30,
        HealthyThresholdCount=2,
        UnhealthyThresholdCount=5,
        Matcher=elb.Matcher(HttpCode="200"),
        TargetGroupAttributes=[elb.TargetGroupAttribute(Key="deregistration_delay.timeout_seconds", Value="30")],
    )
    if condition:
        group.Condition = condition
    return t.add_resource(group)


def internal_load_balancer(t: Template, name: str, network: Network, port: int, health_path: str) -> LoadBalancer:
    """An internal ALB that forwards plain HTTP `port` to one target group inside the VPC."""
    group = security_group(
        t,
        f"{name}LoadBalancerSecurityGroup",
        network,
        f"Internal {name} load balancer; admits only listed client security groups",
    )
    balancer = t.add_resource(
        elb.LoadBalancer(
            f"{name}LoadBalancer",
            Type="application",
            Scheme="internal",
            Subnets=network.public_subnet_ids,
            SecurityGroups=[GetAtt(group, "GroupId")],
            LoadBalancerAttributes=ATTRIBUTES,
        )
    )
    skip_checkov(balancer, CKV_AWS_91=ACCESS_LOGS_REASON)
    target = _target_group(t, name, network, port, health_path, None)
    listener = t.add_resource(
        elb.Listener(
            f"{name}Listener",
            LoadBalancerArn=Ref(balancer),
            Port=port,
            Protocol="HTTP",
            DefaultActions=[elb.Action(Type="forward", TargetGroupArn=Ref(target))],
        )
    )
    skip_checkov(
        listener,
        CKV_AWS_2="Internal, reached by listed security groups only; TLS needs a private-name certificate.",
        CKV_AWS_103="Plain HTTP inside the VPC, see CKV_AWS_2.",
    )
    ready = t.add_resource(
        cloudformation.WaitConditionHandle(f"{name}ListenerReady", Metadata={"Listener": Ref(listener)})
    )
    return LoadBalancer(balancer, target, group, ready)


def public_load_balancer(
    t: Template,
    name: str,
    network: Network,
    *,
    port: int,
    health_path: str,
    allowed_cidr: Any,
    certificate_arn: Any,
    has_certificate: str,
    domain_name: Any,
    has_domain: str,
    condition: str | None = None,
    https_condition: str | None = None,
) -> LoadBalancer:
    """An internet-facing ALB limited to `allowed_cidr`: HTTPS with an HTTP redirect
    when `has_certificate` holds, plain HTTP otherwise. `condition` makes it optional;
    `https_condition` must then be `condition` and `has_certificate` together.
    The redirect goes to `domain_name`, the name the certificate covers (never
    the ALB's own *.elb.amazonaws.com name, which no ACM certificate can cover);
    the stacks' Rules make `has_domain` hold whenever there is a certificate."""
    https_condition = https_condition or has_certificate
    group = security_group(
        t,
        f"{name}LoadBalancerSecurityGroup",
        network,
        f"Public {name} load balancer; admits HTTP(S) from the allowed CIDR only",
    )
    _admit_cidr(t, name, group, allowed_cidr, [(80, condition), (443, https_condition)])
    balancer = _internet_facing(name, network, group)
    target = _target_group(t, name, network, port, health_path, condition)
    redirect = _redirect(If(has_domain, domain_name, "#{host}"))
    forward = elb.Action(Type="forward", TargetGroupArn=Ref(target))
    http = elb.Listener(
        f"{name}HttpListener",
        LoadBalancerArn=Ref(balancer),
        Port=80,
        Protocol="HTTP",
        DefaultActions=[If(has_certificate, redirect, forward)],
    )
    https = elb.Listener(
        f"{name}HttpsListener",
        Condition=https_condition,
        LoadBalancerArn=Ref(balancer),
        Port=443,
        Protocol="HTTPS",
        SslPolicy=TLS_POLICY,
        Certificates=[elb.Certificate(CertificateArn=certificate_arn)],
        DefaultActions=[forward],
    )
    for resource in (group, balancer, http):
        if condition:
            resource.Condition = condition
    t.add_resource(balancer)
    t.add_resource(http)
    t.add_resource(https)
    skip_checkov(http, **PLAIN_HTTP_REASONS)
    ready = t.add_resource(
        cloudformation.WaitConditionHandle(
            f"{name}ListenerReady",
            Metadata={
                "HttpListener": If(condition, Ref(http), "") if condition else Ref(http),
                "HttpsListener": If(https_condition, Ref(https), ""),
            },
        )
    )
    return LoadBalancer(balancer, target, group, ready, condition)


def url(balancer: elb.LoadBalancer, has_certificate: str, domain_name: Any, has_domain: str | None = None) -> Any:
    """The ALB's URL: https://<domain> with a certificate (a Rule makes the domain
    required then); without one, http://<domain> when `has_domain` holds, else
    http://<the ALB's DNS name>."""
    plain = Sub("http://${Dns}", Dns=GetAtt(balancer, "DNSName"))
    if has_domain:
        plain = If(has_domain, Sub("http://${Domain}", Domain=domain_name), plain)
    return If(has_certificate, Sub("https://${Domain}", Domain=domain_name), plain)


def alias_record(
    t: Template, logical_id: str, condition: str, zone: Any, name: Any, balancer: elb.LoadBalancer
) -> route53.RecordSetType:
    """A Route 53 A alias for an ALB (IPv4 only, as the ALBs are)."""
    return t.add_resource(
        route53.RecordSetType(
            logical_id,
            Condition=condition,
            HostedZoneId=zone,
            Name=name,
            Type="A",
            AliasTarget=route53.AliasTarget(
                DNSName=GetAtt(balancer, "DNSName"),
                HostedZoneId=GetAtt(balancer, "CanonicalHostedZoneID"),
                EvaluateTargetHealth=True,
            ),
        )
    )


@dataclass(frozen=True)
class Route:
    """A service behind a host-routed ALB: its container port and health path, the
    domain name that routes to it, and the listener port it gets when it has no
    domain name (None for the default route, which has port 80/443)."""

    name: str
    port: Any
    health_path: str
    domain: Any
    has_domain: str
    own_port: int | None = None


def _admit_cidr(
    t: Template, name: str, group: ec2.SecurityGroup, allowed_cidr: Any, ports: Sequence[tuple[int, str | None]]
) -> None:
    """One ingress rule per listener port, from `allowed_cidr` only, under its condition."""
    for listener_port, condition in ports:
        rule = ec2.SecurityGroupIngress(
            f"{name}LoadBalancerIngress{listener_port}",
            GroupId=GetAtt(group, "GroupId"),
            IpProtocol="tcp",
            FromPort=listener_port,
            ToPort=listener_port,
            CidrIp=allowed_cidr,
            Description=f"{'HTTPS' if listener_port == 443 else 'HTTP'} from the allowed CIDR",
        )
        if condition:
            rule.Condition = condition
        if listener_port != 443:
            skip_checkov(rule, CKV_AWS_260="Limited to AllowedCidr; with a certificate it only redirects to HTTPS.")
        t.add_resource(rule)


def _internet_facing(name: str, network: Network, group: ec2.SecurityGroup) -> elb.LoadBalancer:
    """An internet-facing ALB in the public subnets; it holds public addresses, so it waits for the internet route."""
    balancer = elb.LoadBalancer(
        f"{name}LoadBalancer",
        DependsOn=[network.internet_route],
        Type="application",
        Scheme="internet-facing",
        Subnets=network.public_subnet_ids,
        SecurityGroups=[GetAtt(group, "GroupId")],
        LoadBalancerAttributes=ATTRIBUTES,
    )
    skip_checkov(balancer, CKV_AWS_91=ACCESS_LOGS_REASON)
    return balancer


def _redirect(host: Any, kind: type = elb.Action) -> Any:
    return kind(
        Type="redirect",
        RedirectConfig=elb.RedirectConfig(
            Protocol="HTTPS", Port="443", StatusCode="HTTP_301", Host=host, Path="/#{path}", Query="#{query}"
        ),
    )


def host_routed_load_balancer(
    t: Template,
    name: str,
    network: Network,
    *,
    allowed_cidr: Any,
    certificate_arn: Any,
    has_certificate: str,
    default: Route,
    by_host: Sequence[Route],
) -> dict[str, LoadBalancer]:
    """One internet-facing ALB, limited to `allowed_cidr`, for several services: a
    request for a `by_host` route's domain name goes to it (host-header rules),
    anything else to `default`. With a certificate (which must cover every name;
    the stack's Rule makes the names required) port 443 serves HTTPS and port 80
    redirects each name to https://<that name>. Without a certificate port 80
    serves HTTP, and a `by_host` route without a domain name gets its own
    listener port. Returns, per route, the LoadBalancer its service attaches to."""
    group = security_group(
        t,
        f"{name}LoadBalancerSecurityGroup",
        network,
        f"{name} load balancer; admits HTTP(S) from the allowed CIDR only",
    )
    listener_ports = [(80, None), (443, has_certificate)]
    for route in by_host:
        t.add_condition(f"{route.name}OnOwnPort", Not(Condition(route.has_domain)))
        t.add_condition(f"{route.name}OnHttps", And(Condition(has_certificate), Condition(route.has_domain)))
        listener_ports.append((route.own_port, f"{route.name}OnOwnPort"))
    _admit_cidr(t, name, group, allowed_cidr, listener_ports)
    balancer = t.add_resource(_internet_facing(name, network, group))
    targets = {
        route.name: _target_group(t, route.name, network, route.port, route.health_path, None)
        for route in (default, *by_host)
    }
    http = t.add_resource(
        elb.Listener(
            f"{name}HttpListener",
            LoadBalancerArn=Ref(balancer),
            Port=80,
            Protocol="HTTP",
            DefaultActions=[
                If(
                    has_certificate,
                    _redirect(If(default.has_domain, default.domain, "#{host}")),
                    elb.Action(Type="forward", TargetGroupArn=Ref(targets[default.name])),
                )
            ],
        )
    )
    skip_checkov(http, **PLAIN_HTTP_REASONS)
    https = t.add_resource(
        elb.Listener(
            f"{name}HttpsListener",
            Condition=has_certificate,
            LoadBalancerArn=Ref(balancer),
            Port=443,
            Protocol="HTTPS",
            SslPolicy=TLS_POLICY,
            Certificates=[elb.Certificate(CertificateArn=certificate_arn)],
            DefaultActions=[elb.Action(Type="forward", TargetGroupArn=Ref(targets[default.name]))],
        )
    )
    result = {
        default.name: LoadBalancer(
            balancer,
            targets[default.name],
            group,
            t.add_resource(
                cloudformation.WaitConditionHandle(
                    f"{default.name}ListenerReady",
                    Metadata={"HttpListener": Ref(http), "HttpsListener": If(has_certificate, Ref(https), "")},
                )
            ),
        )
    }
    for priority, route in enumerate(by_host, start=10):
        forward = elb.ListenerRuleAction(Type="forward", TargetGroupArn=Ref(targets[route.name]))
        host = [elb.Condition(Field="host-header", HostHeaderConfig=elb.HostHeaderConfig(Values=[route.domain]))]
        http_rule = t.add_resource(
            elb.ListenerRule(
                f"{route.name}HttpRule",
                Condition=route.has_domain,
                ListenerArn=Ref(http),
                Priority=priority,
                Conditions=host,
                Actions=[If(has_certificate, _redirect(route.domain, elb.ListenerRuleAction), forward)],
            )
        )
        https_rule = t.add_resource(
            elb.ListenerRule(
                f"{route.name}HttpsRule",
                Condition=f"{route.name}OnHttps",
                ListenerArn=Ref(https),
                Priority=priority,
                Conditions=host,
                Actions=[forward],
            )
        )
        own = t.add_resource(
            elb.Listener(
                f"{route.name}Listener",
                Condition=f"{route.name}OnOwnPort",
                LoadBalancerArn=Ref(balancer),
                Port=route.own_port,
                Protocol="HTTP",
                DefaultActions=[elb.Action(Type="forward", TargetGroupArn=Ref(targets[route.name]))],
            )
        )
        skip_checkov(
            own,
            CKV_AWS_2="Only without a domain name, hence without a certificate: the operator's choice.",
            CKV_AWS_103="As CKV_AWS_2: plain HTTP only without a certificate.",
        )
        ready = cloudformation.WaitConditionHandle(
            f"{route.name}ListenerReady",
            Metadata={
                "HttpRule": If(route.has_domain, Ref(http_rule), ""),
                "HttpsRule": If(f"{route.name}OnHttps", Ref(https_rule), ""),
                "OwnPortListener": If(f"{route.name}OnOwnPort", Ref(own), ""),
            },
        )
        result[route.name] = LoadBalancer(balancer, targets[route.name], group, t.add_resource(ready))
    return result


def routed_url(route: Route, balancer: elb.LoadBalancer, has_certificate: str) -> Any:
    """https://<name> with a certificate; http://<name> with a name; else the ALB's
    name, on the route's own port when it has one."""
    port = f":{route.own_port}" if route.own_port else ""
    plain = If(
        route.has_domain,
        Sub("http://${Domain}", Domain=route.domain),
        Sub("http://${Dns}" + port, Dns=GetAtt(balancer, "DNSName")),
    )
    return If(has_certificate, Sub("https://${Domain}", Domain=route.domain), plain)
