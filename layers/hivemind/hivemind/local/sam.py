"""HiveMind itself, from template.yaml: translated by aws-sam-translator into the plain
CloudFormation moto can create, so what runs here is what `sam deploy` creates.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hivemind.local.state import REGION, package_cache

log = logging.getLogger("hivemind.local")


CODE_BUCKET = "hivemind-local-code"


def translate_template(root: Path, code_uri: str) -> tuple[dict[str, Any], dict[str, tuple[Path, str]]]:
    """template.yaml → plain CloudFormation moto can create, and each function's handler source,
    cached by the content of what goes in (`cached_translation`)."""
    return cached_translation(root, code_uri, _translate)


def cached_translation(
    root: Path,
    code_uri: str,
    translate: Callable[[Path, str], tuple[dict[str, Any], dict[str, tuple[Path, str]]]],
) -> tuple[dict[str, Any], dict[str, tuple[Path, str]]]:
    """`translate(root, code_uri)`, kept in the package cache under a digest of template.yaml, the
    state machine definitions, this module and the translator's version: translating costs about
    a second of every local runtime's start and gives the same result until one of them changes."""
    import samtranslator

    digest = hashlib.sha256(f"{code_uri}\0{samtranslator.__version__}\0".encode())
    for path in [root / "template.yaml", Path(__file__), *sorted((root / "statemachine").glob("*"))]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    cached = package_cache("sam") / f"{digest.hexdigest()[:32]}.json"
    try:
        saved = json.loads(cached.read_text())
        return saved["template"], {lid: (root / src, handler) for lid, (src, handler) in saved["handlers"].items()}
    except (OSError, ValueError, KeyError):
        pass
    template, handlers = translate(root, code_uri)
    relative = {lid: (str(src.relative_to(root)), handler) for lid, (src, handler) in handlers.items()}
    scratch = cached.with_suffix(f".{os.getpid()}.tmp")
    scratch.write_text(json.dumps({"template": template, "handlers": relative}))
    scratch.replace(cached)  # atomic: parallel test workers never read half a file
    return template, handlers


def _translate(root: Path, code_uri: str) -> tuple[dict[str, Any], dict[str, tuple[Path, str]]]:
    """template.yaml → plain CloudFormation moto can create, and each function's handler source.

    Local CodeUri/ContentUri point at a placeholder S3 object (the code runs in-process), and
    the state machine's DefinitionUri + DefinitionSubstitutions become one `Fn::Join`, which
    is what CloudFormation's substitution means.
    """
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    sam = yaml_parse((root / "template.yaml").read_text())
    handlers: dict[str, tuple[Path, str]] = {}
    definitions: dict[str, str] = {}
    for logical_id, resource in sam["Resources"].items():
        props = resource.setdefault("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            handlers[logical_id] = (root / props["CodeUri"], props["Handler"])
            props["CodeUri"] = code_uri
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            props["ContentUri"] = code_uri
        elif resource["Type"] == "AWS::Serverless::StateMachine" and "DefinitionUri" in props:
            definitions[logical_id] = (root / props.pop("DefinitionUri")).read_text()
            props["Definition"] = {"StartAt": "Placeholder", "States": {"Placeholder": {"Type": "Succeed"}}}

    class _NoManagedPolicyLookups:
        def load(self) -> dict[str, str]:
            raise RuntimeError("template.yaml must not need IAM managed-policy lookups")

    logging.getLogger("samtranslator.metrics.metrics").setLevel(logging.ERROR)  # "unpublished metrics"
    with _env(AWS_DEFAULT_REGION=REGION):
        cfn = transform(sam, {}, _NoManagedPolicyLookups())
    for logical_id, text in definitions.items():
        props = cfn["Resources"][logical_id]["Properties"]
        props["DefinitionString"] = _join_substitutions(text, props.pop("DefinitionSubstitutions", {}))
    cfn.setdefault("Metadata", {})[API_METADATA] = _api_definitions(cfn)
    _drop_not_emulated(cfn)
    return cfn, handlers


API_METADATA = "HiveMindLocalApis"
_FUNCTION_IN_URI = re.compile(r"functions/\$\{(\w+)\.Arn\}/invocations")


def _api_definitions(cfn: dict[str, Any]) -> dict[str, Any]:
    """What the local API Gateway (local/apigateway.py) serves, kept from each RestApi's OpenAPI
    body before those resources are dropped: {api: {"routes": {path: {METHOD|ANY: function's
    logical id}}, "gateway_responses": {...}}}."""
    found: dict[str, Any] = {}
    for logical_id, resource in cfn["Resources"].items():
        if resource["Type"] != "AWS::ApiGateway::RestApi" or "Body" not in resource.get("Properties", {}):
            continue
        body = resource["Properties"]["Body"]
        routes: dict[str, dict[str, str]] = {}
        for path, methods in body.get("paths", {}).items():
            for method, operation in methods.items():
                uri = json.dumps(operation.get("x-amazon-apigateway-integration", {}).get("uri", ""))
                target = _FUNCTION_IN_URI.search(uri)
                if target:
                    verb = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
                    routes.setdefault(path, {})[verb] = target.group(1)
        found[logical_id] = {
            "routes": routes,
            "gateway_responses": body.get("x-amazon-apigateway-gateway-responses", {}),
        }
    return found


# moto creates a RestApi without importing its OpenAPI body, so its deployment fails; the API
# function itself is kept and is invoked with API Gateway events instead.
NOT_EMULATED = frozenset({"AWS::ApiGateway::RestApi", "AWS::ApiGateway::Deployment", "AWS::ApiGateway::Stage"})


def _drop_not_emulated(template: dict[str, Any]) -> None:
    """Remove resource types not emulated, and everything that references them."""
    resources, outputs = template["Resources"], template.get("Outputs", {})
    dropped = {lid for lid, r in resources.items() if r["Type"] in NOT_EMULATED}
    while True:
        more = {lid for lid, r in resources.items() if lid not in dropped and _references(r, dropped)}
        if not more:
            break
        dropped |= more
    for lid in dropped:
        resources.pop(lid)
    for name in [n for n, o in outputs.items() if _references(o, dropped)]:
        outputs.pop(name)


def _references(node: Any, logical_ids: set[str]) -> bool:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and value in logical_ids:
                return True
            if key == "Fn::GetAtt" and isinstance(value, list) and value and value[0] in logical_ids:
                return True
            if key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                names = {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text)}
                if names & logical_ids:
                    return True
            if key == "DependsOn" and set([value] if isinstance(value, str) else value) & logical_ids:
                return True
            if _references(value, logical_ids):
                return True
    elif isinstance(node, list):
        return any(_references(v, logical_ids) for v in node)
    return False


def _join_substitutions(text: str, substitutions: dict[str, Any]) -> Any:
    parts: list[Any] = []
    last = 0
    for match in re.finditer(r"\$\{([A-Za-z0-9_]+)\}", text):
        if match.group(1) in substitutions:
            parts += [text[last : match.start()], substitutions[match.group(1)]]
            last = match.end()
    parts.append(text[last:])
    return {"Fn::Join": ["", parts]}


@contextmanager
def _env(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "HiveMind local runtime: handlers run in-process from the source tree.\n")
    return buffer.getvalue()


def template_summary(root: Path) -> dict[str, int]:
    """Resource types in HiveMind's translated template (used by docs and tests)."""
    template, _ = translate_template(root, f"s3://{CODE_BUCKET}/placeholder.zip")
    counts: dict[str, int] = {}
    for resource in template["Resources"].values():
        counts[resource["Type"]] = counts.get(resource["Type"], 0) + 1
    return counts
