"""Kinesis data streams with generated names (no fixed physical names, so two
stacks never collide), sharing one capacity choice: the upstream (market data)
and downstream (results) streams of full."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import Equals, If, Parameter, Ref, Template, kinesis

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
    shards = add_parameter(
        t,
        "ShardCount",
        description="Shards per stream in PROVISIONED mode.",
        Type="Number",
        Default="1",
        MinValue=1,
        MaxValue=64,
    )
    retention = add_parameter(
        t,
        "StreamRetentionHours",
        description="Hours each stream keeps records (24 is the cheapest).",
        Type="Number",
        Default="24",
        MinValue=24,
        MaxValue=8760,
    )
    t.add_condition(ON_DEMAND_CONDITION, Equals(Ref(mode), "ON_DEMAND"))
    return StreamParameters(mode, shards, retention)


def stream(t: Template, name: str, parameters: StreamParameters) -> kinesis.Stream:
    """A stream sized by the stack's stream parameters."""
    return _stream(
        t,
        name,
        Ref(parameters.mode),
        If(ON_DEMAND_CONDITION, Ref("AWS::NoValue"), Ref(parameters.shard_count)),
        Ref(parameters.retention_hours),
    )


def cheapest_stream(t: Template, name: str) -> kinesis.Stream:
    """The cheapest stream there is: one provisioned shard, kept 24 hours (for one
    a service must write to but nothing reads)."""
    return _stream(t, name, "PROVISIONED", 1, 24)


def _stream(t: Template, name: str, mode: Any, shards: Any, retention_hours: Any) -> kinesis.Stream:
    """An encrypted stream deleted with its stack (what must outlive a profile lives in foundations)."""
    return t.add_resource(
        deleted_with_stack(
            kinesis.Stream(
                name,
                StreamModeDetails=kinesis.StreamModeDetails(StreamMode=mode),
                ShardCount=shards,
                RetentionPeriodHours=retention_hours,
                StreamEncryption=kinesis.StreamEncryption(EncryptionType="KMS", KeyId="alias/aws/kinesis"),
            )
        )
    )
