"""EFS mount targets: every profile creates its own, in its own VPC, for the
foundations file system (which has none, so that no profile inherits another's
VPC), behind a security group that admits NFS from the services that mount it.
Services depend on the mount targets and on the NFS rules: a task started before
either cannot mount its volume."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from troposphere import GetAtt, Template
from troposphere import efs as efs_resources

from .. import exports
from .network import Network, allow_from_group, security_group
from .parameters import import_value, wait_for


@dataclass
class MountTargets:
    security_group: Any
    mount_target_ids: list[str] = field(default_factory=list)

    def admit(self, t: Template, name: str, client: Any) -> None:
        """Let the tasks of `client` (a FargateService) reach NFS (TCP 2049) on the
        mount targets; the service waits for the rule and the mount targets, or its
        first task cannot mount its volume."""
        rule = allow_from_group(
            t, f"FileSystemFrom{name}", self.security_group, client.security_group, 2049, f"NFS from {name} tasks"
        )
        wait_for(client.service, *self.mount_target_ids, rule.title)


def mount_targets(t: Template, network: Network, subnets: list[Any] | None = None) -> MountTargets:
    """One mount target per subnet for the foundations file system, behind their own security group."""
    group = security_group(
        t, "FileSystemSecurityGroup", network, "EFS mount targets; admits NFS from the services that mount it"
    )
    targets = MountTargets(group)
    for index, subnet in enumerate(subnets or network.public_subnet_ids):
        target = t.add_resource(
            efs_resources.MountTarget(
                f"FileSystemMountTarget{index + 1}",
                FileSystemId=import_value(exports.FILE_SYSTEM_ID),
                SubnetId=subnet,
                SecurityGroups=[GetAtt(group, "GroupId")],
            )
        )
        targets.mount_target_ids.append(target.title)
    return targets
