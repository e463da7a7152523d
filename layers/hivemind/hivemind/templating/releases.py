"""Releases: what of an app's stack belongs to one deployment, and keeping the serving one
beside a new one during an update (blue/green on one target group).

A release is the instance that runs one deployment's version, with its role, instance profile
and security group, and the parameters they read (its AMI, its source bundle, its failure log).
Their logical ids end in the release's suffix and each carries `Metadata.HiveMind.Release`, so an
update adds the new release's resources instead of replacing the serving ones in place: on AWS a
replacement removes the old instance in the update's cleanup phase, before HiveMind could register
the new one, which is a window with no healthy target.

An update's template therefore holds two releases: the new one, and the one serving, copied
unchanged from the stack's template with the values its parameters had. Once the new release is
healthy and its smoke test passed, the old one is deregistered, its connections drain, and the
stack is updated once more with only the new release (`without_others`).
"""

from __future__ import annotations

import json
import re
from typing import Any

METADATA = "HiveMind"
# what a carried release's AMI parameter becomes: the AMI its instance runs, not the latest one
# (an SSM-typed parameter resolves again on every update, and a new AMI replaces the instance)
_AMI_TYPE = "AWS::EC2::Image::Id"
_SUB_NAME = re.compile(r"\$\{(?!!)([A-Za-z0-9:]+)(?:\.[A-Za-z0-9.]+)?\}")


class CannotCarry(Exception):
    """The serving release cannot be kept beside the new one (the message says why)."""


def suffix(release_id: str) -> str:
    """The logical-id suffix of a release: its deployment id's letters and digits ("d-2026-ab" -> "D2026ab")."""
    alnum = "".join(c for c in release_id if c.isascii() and c.isalnum())
    return alnum[:1].upper() + alnum[1:]


def release_of(resource: dict[str, Any]) -> str | None:
    metadata = resource.get("Metadata")
    owned = metadata.get(METADATA) if isinstance(metadata, dict) else None
    return owned.get("Release") if isinstance(owned, dict) else None


def resources_of(template: dict[str, Any], release_id: str) -> dict[str, Any]:
    return {lid: r for lid, r in template.get("Resources", {}).items() if release_of(r) == release_id}


def releases_in(template: dict[str, Any]) -> list[str]:
    """The releases a template holds, in the order their resources appear."""
    return list(dict.fromkeys(r for r in map(release_of, template.get("Resources", {}).values()) if r))


def references(value: Any) -> set[str]:
    """Every name a value refers to: `Ref`, `Fn::GetAtt` and the `${...}` of `Fn::Sub`."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                target = inner[0] if isinstance(inner, list) else str(inner).split(".")[0]
                found.add(str(target))
            elif key == "Fn::Sub":
                text, names = (inner[0], inner[1]) if isinstance(inner, list) else (inner, {})
                found |= {m.group(1) for m in _SUB_NAME.finditer(str(text))} - set(names)
                found |= references(names)
            else:
                found |= references(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= references(inner)
    return found


def carry(
    template: dict[str, Any],
    previous: dict[str, Any],
    release_id: str,
    *,
    parameter_values: dict[str, str],
    image_id: str | None,
) -> dict[str, Any]:
    """`template` with release `release_id` of `previous` added unchanged, its parameters given the
    values they had (`parameter_values`, as the stack reports them) and its AMI the one its
    instance runs (`image_id`). Raises CannotCarry when that release refers to something the new
    template no longer has."""
    resources = resources_of(previous, release_id)
    if not resources:
        raise CannotCarry(f"the stack's template has no resources of release {release_id}")
    clash = sorted(set(resources) & set(template["Resources"]))
    if clash:
        raise CannotCarry(f"the new template already has {', '.join(clash)}")
    old_parameters = previous.get("Parameters", {})
    carried = {**template, "Resources": {**template["Resources"]}, "Parameters": {**template.get("Parameters", {})}}
    for name in sorted(set().union(*(references(r) for r in resources.values()))):
        if name.startswith("AWS::") or name in resources:
            continue
        if name in old_parameters:
            kept = carried["Parameters"].get(name)
            value = parameter_values.get(name, old_parameters[name].get("Default"))
            if kept is not None and kept.get("Default") == value:
                continue  # a shared parameter, unchanged
            if kept is not None:
                raise CannotCarry(f"parameter {name} changes from {value!r} to {kept.get('Default')!r}")
            declared = dict(old_parameters[name])
            if _AMI_TYPE in str(declared.get("Type", "")):
                if not image_id:
                    raise CannotCarry(f"the AMI of release {release_id}'s instance is not known")
                declared = {"Type": _AMI_TYPE, "Description": "the AMI this release's instance runs"}
                value = image_id
            if value is None:
                raise CannotCarry(f"parameter {name} of release {release_id} has no value")
            carried["Parameters"][name] = {**declared, "Default": value}
        elif name not in template["Resources"]:
            raise CannotCarry(f"release {release_id} refers to {name}, which the new template does not have")
    carried["Resources"].update(resources)
    return carried


def without_others(template: dict[str, Any], release_id: str) -> tuple[dict[str, Any], list[str]]:
    """`template` with only release `release_id`: every other release's resources go, and the
    parameters nothing refers to any more; the other releases' ids."""
    others = [r for r in releases_in(template) if r != release_id]
    resources = {lid: r for lid, r in template["Resources"].items() if release_of(r) in (None, release_id)}
    used = set().union(*(references(r) for r in resources.values()), references(template.get("Outputs", {})))
    parameters = {k: v for k, v in template.get("Parameters", {}).items() if k in used}
    return {**template, "Resources": resources, "Parameters": parameters}, others


def same_instance(template: dict[str, Any], release_id: str, previous: dict[str, Any], serving_id: str) -> bool:
    """Whether release `release_id` of `template` would run exactly what `serving_id` of `previous`
    runs: the same resources, properties and user data, but for their tags, their metadata and
    their suffix. (Whether their source bundles hold the same bytes is the caller's to check.)"""

    def normal(resources: dict[str, Any], own: str) -> str:
        kept = {
            lid.removesuffix(suffix(own)): {
                **{k: v for k, v in r.items() if k not in ("Metadata", "Properties")},
                "Properties": {k: v for k, v in r.get("Properties", {}).items() if k != "Tags"},
            }
            for lid, r in resources.items()
        }
        return json.dumps(kept, sort_keys=True).replace(suffix(own), "<release>")

    new, old = resources_of(template, release_id), resources_of(previous, serving_id)
    return bool(new) and normal(new, release_id) == normal(old, serving_id)


def in_place(template: dict[str, Any], release_id: str, serving_id: str) -> dict[str, Any]:
    """`template` without its own release, its outputs naming release `serving_id` instead (to be
    carried beside it, `carry`): an update that changes only what the releases share."""
    old, new = suffix(serving_id), suffix(release_id)
    resources = {lid: r for lid, r in template["Resources"].items() if release_of(r) != release_id}
    outputs = json.loads(json.dumps(template.get("Outputs", {})).replace(f"WebInstance{new}", f"WebInstance{old}"))
    outputs["Release"] = {**outputs.get("Release", {}), "Value": serving_id}
    kept = {**template, "Resources": resources, "Outputs": outputs}
    used = set().union(*(references(r) for r in resources.values()), references(outputs))
    kept["Parameters"] = {k: v for k, v in template.get("Parameters", {}).items() if k in used}
    return kept
