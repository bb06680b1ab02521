"""Kinesis data streams with generated names (no fixed physical names, so two
stacks never collide), sharing one capacity choice: the upstream (market data)
and downstream (results) streams of full."""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import Equals, If, Parameter, Ref, Template
from troposphere import kinesis

from ..blocks.parameters import add_parameter, deleted_with_stack

ON_DEMAND_CONDITION = "IsOnDemand"


@dataclass(frozen=True)
class StreamParameters:
    mode: Parameter
    shard_count: Parameter
    retention_hours: Parameter


def stream_parameters(t: Template) -> StreamParameters:
    """StreamMode, ShardCount and StreamRetentionHours, and the on-demand condition."""
    mode = add_parameter(
        t,
        "StreamMode",
        description="Kinesis capacity mode of both streams: PROVISIONED (ShardCount shards each) or ON_DEMAND.",
        Default="PROVISIONED",
        AllowedValues=["PROVISIONED", "ON_DEMAND"],
    )
    shards = add_parameter(t, "ShardCount", description="Shards per stream in PROVISIONED mode.", Type="Number", Default="1", MinValue=1, MaxValue=64)
    retention = add_parameter(
        t, "StreamRetentionHours", description="Hours each stream keeps records (24 is the cheapest).", Type="Number", Default="24", MinValue=24, MaxValue=8760
    )
    t.add_condition(ON_DEMAND_CONDITION, Equals(Ref(mode), "ON_DEMAND"))
    return StreamParameters(mode, shards, retention)


def stream(t: Template, name: str, parameters: StreamParameters) -> kinesis.Stream:
    """An encrypted stream deleted with its stack (what must outlive a profile lives in foundations)."""
    return t.add_resource(
        deleted_with_stack(
            kinesis.Stream(
                name,
                StreamModeDetails=kinesis.StreamModeDetails(StreamMode=Ref(parameters.mode)),
                ShardCount=If(ON_DEMAND_CONDITION, Ref("AWS::NoValue"), Ref(parameters.shard_count)),
                RetentionPeriodHours=Ref(parameters.retention_hours),
                StreamEncryption=kinesis.StreamEncryption(EncryptionType="KMS", KeyId="alias/aws/kinesis"),
            )
        )
    )
