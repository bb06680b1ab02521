"""Helpers every stack module shares: the template, parameters, exports and imports, checkov notes,
deletion policies."""

from __future__ import annotations

from typing import Any, Sequence

from troposphere import (
    AWSObject,
    Export,
    ImportValue,
    Output,
    Parameter,
    Ref,
    Sub,
    Template,
)

from .. import model, patterns

# Logical ID of the parameter that names the foundations stack in every consumer.
FOUNDATIONS_PARAMETER = model.FOUNDATIONS_PARAMETER
# Patterns the stacks' parameters share (templates_py/patterns.py says each once).
NOT_PRIVATE_ECR_TEXT = patterns.NOT_PRIVATE_ECR_TEXT
IMAGE_PATTERN = patterns.IMAGE
CERTIFICATE_PATTERN = patterns.or_empty(patterns.CERTIFICATE_ARN)
HOSTED_ZONE_PATTERN = patterns.or_empty(patterns.HOSTED_ZONE)
DOMAIN_PATTERN = patterns.or_empty(patterns.DOMAIN)
STACK_NAME_PATTERN = patterns.STACK_NAME


def new_template(module_doc: str | None) -> Template:
    """A template whose Description is the first paragraph of the stack module's docstring."""
    template = Template()
    template.set_version("2010-09-09")
    first_paragraph = (module_doc or "").strip().split("\n\n")[0]
    template.set_description(" ".join(first_paragraph.split()))
    return template


def add_parameter(template: Template, name: str, *, description: str, **kwargs: Any) -> Parameter:
    """A parameter with a description; `Type` defaults to String."""
    kwargs.setdefault("Type", "String")
    return template.add_parameter(Parameter(name, Description=description, **kwargs))


def not_empty(parameter: Parameter) -> dict:
    """A Rules assertion: the parameter has a value."""
    return {"Fn::Not": [{"Fn::Equals": [Ref(parameter), ""]}]}


def require(template: Template, logical_id: str, when: dict, required: Sequence[tuple[Parameter, str]]) -> None:
    """A Rule: when `when` holds, each parameter of `required` must have a value
    (else CloudFormation refuses the deploy with its description)."""
    template.add_rule(
        logical_id,
        {
            "RuleCondition": when,
            "Assertions": [{"Assert": not_empty(p), "AssertDescription": text} for p, text in required],
        },
    )


def foundations_parameter(template: Template) -> Parameter:
    return add_parameter(
        template,
        FOUNDATIONS_PARAMETER,
        description="Name of the deployed foundations stack whose exports (bucket, ECR, EFS, table, secrets) "
        "this stack imports.",
        Default="streamlines-foundations",
        AllowedPattern=STACK_NAME_PATTERN,
        ConstraintDescription="a CloudFormation stack name: letters, digits and hyphens, starting with a letter.",
    )


def export_output(template: Template, name: str, value: Any, description: str, condition: str | None = None) -> Output:
    """An output exported as `${AWS::StackName}-<name>`: the only way exports are made."""
    output = Output(name, Description=description, Value=value, Export=Export(Sub("${AWS::StackName}-" + name)))
    if condition:
        output.Condition = condition
    return template.add_output(output)


def import_value(name: str, stack_parameter: str = FOUNDATIONS_PARAMETER) -> ImportValue:
    """The value another stack exported as `<stack>-<name>`: the only way exports are read."""
    return ImportValue(Sub("${%s}-%s" % (stack_parameter, name)))


def skip_checkov(resource: AWSObject, **reasons: str) -> AWSObject:
    """Record in the resource's Metadata why a checkov check does not apply to it."""
    metadata = getattr(resource, "Metadata", None) or {}
    checks = metadata.setdefault("checkov", {}).setdefault("skip", [])
    for check_id, reason in sorted(reasons.items()):
        checks.append({"id": check_id, "comment": reason})
    resource.Metadata = metadata
    return resource


def log_retention_parameter(template: Template, default: int) -> Parameter:
    from ..config import LOG_RETENTION_DAYS

    return add_parameter(
        template,
        "LogRetentionDays",
        description="Days CloudWatch Logs keeps the services' logs.",
        Type="Number",
        Default=str(default),
        AllowedValues=[str(days) for days in LOG_RETENTION_DAYS],
    )


def task_size_parameters(
    template: Template, name: str, label: str, cpu: int, memory: int, max_cpu: int = 4096
) -> tuple[Ref, Ref]:
    """`<name>Cpu` and `<name>Memory` parameters (CPU up to `max_cpu`), plus a Rule
    that refuses pairs Fargate does not run."""
    from ..config import FARGATE_SIZES as ALL_SIZES

    FARGATE_SIZES = {c: sizes for c, sizes in ALL_SIZES.items() if c <= max_cpu}
    all_memory = sorted({m for sizes in FARGATE_SIZES.values() for m in sizes})
    cpu_parameter = add_parameter(
        template,
        f"{name}Cpu",
        description=f"CPU units of the {label} task (1024 = 1 vCPU).",
        Default=str(cpu),
        AllowedValues=[str(c) for c in FARGATE_SIZES],
    )
    memory_parameter = add_parameter(
        template,
        f"{name}Memory",
        description=f"Memory (MiB) of the {label} task, valid for its CPU (256: 512-2048, 512: 1024-4096, ...).",
        Default=str(memory),
        AllowedValues=[str(m) for m in all_memory],
    )
    template.add_rule(
        f"{name}TaskSize",
        {
            "Assertions": [
                {
                    "Assert": {
                        "Fn::Or": [
                            {
                                "Fn::And": [
                                    {"Fn::Equals": [Ref(cpu_parameter), str(c)]},
                                    _memory_fits(sizes, all_memory, Ref(memory_parameter)),
                                ]
                            }
                            for c, sizes in FARGATE_SIZES.items()
                        ]
                    },
                    "AssertDescription": f"Fargate does not run {name}Memory with {name}Cpu.",
                }
            ]
        },
    )
    return Ref(cpu_parameter), Ref(memory_parameter)


def _memory_fits(sizes: tuple[int, ...], all_memory: list[int], memory: Ref) -> dict:
    """`memory` is one of `sizes`, said the shorter way: in `sizes`, or not in the
    other allowed values (the parameter's AllowedValues are `all_memory`). The
    rules count against lite's inline size limit."""
    others = [m for m in all_memory if m not in sizes]
    if len(others) < len(sizes):
        return {"Fn::Not": [{"Fn::Contains": [[str(m) for m in others], memory]}]}
    return {"Fn::Contains": [[str(m) for m in sizes], memory]}


# checkov reasons that several resources share; they end up in every template,
# which must stay under the inline deploy limit, so they are short.
LOG_KEY_REASON = "Encrypted with the CloudWatch Logs service key; a customer managed key adds cost, no control."


def deleted_with_stack(resource: AWSObject) -> AWSObject:
    """Say outright that a resource holding data goes with its stack (logs, streams,
    queues of a profile): teardown leaves nothing behind, and what must outlive a
    profile lives in foundations, retained."""
    resource.DeletionPolicy = "Delete"
    resource.UpdateReplacePolicy = "Delete"
    return resource


def wait_for(resource: AWSObject, *logical_ids: str) -> AWSObject:
    """Add `logical_ids` to the resource's DependsOn (once each, in order). For what
    it needs but does not reference: a security-group rule, a route, an endpoint."""
    existing = getattr(resource, "DependsOn", None) or []
    existing = [existing] if isinstance(existing, str) else list(existing)
    for logical_id in logical_ids:
        if logical_id not in existing:
            existing.append(logical_id)
    resource.DependsOn = existing
    return resource
