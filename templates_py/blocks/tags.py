"""The one tagging helper: every taggable resource carries Project, Profile and Name,
so the residue report finds what a stack left behind (docs/architecture.md)."""

from __future__ import annotations

from troposphere import Sub, Tags, Template

from ..model import kebab

TAG_PROPERTIES = ("Tags", "FileSystemTags", "AccessPointTags")
# Not tagged: IAM roles are free, go with their stack, and the residue report does
# not look for them; their tags would cost lite ~0.8 KB of its inline size limit.
UNTAGGED_TYPES = ("AWS::IAM::Role",)


def tag_everything(template: Template, project: str, profile: str) -> None:
    """Give every taggable resource Project, Profile and Name so the residue report finds it."""
    for logical_id, resource in template.resources.items():
        if resource.resource_type in UNTAGGED_TYPES:
            continue
        for prop in TAG_PROPERTIES:
            if prop not in resource.props:
                continue
            name = Sub("${AWS::StackName}-" + kebab(logical_id))
            if resource.props[prop][0] is dict:
                existing = getattr(resource, prop, {}) or {}
                setattr(resource, prop, {**existing, "Project": project, "Profile": profile, "Name": name})
            else:
                existing = getattr(resource, prop, None)
                tags = Tags(Project=project, Profile=profile, Name=name)
                setattr(resource, prop, existing + tags if existing else tags)
            break
