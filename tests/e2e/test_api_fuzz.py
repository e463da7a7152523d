"""A schema-driven fuzz run against `hivemind local serve`: requests generated from the served
OpenAPI document (valid values, values just outside each bound, wrong types, unknown fields,
odd methods, paths and headers), sent over HTTP. No answer may be >= 500, every error must be
the one JSON shape, and no request that was refused may start an execution.

Seeded, so a failure reproduces: HIVEMIND_FUZZ_SEED=N HIVEMIND_FUZZ_REQUESTS=M pytest this file.
"""

from __future__ import annotations

import json
import os
import random
import string
from collections import Counter
from typing import Any

import pytest

from tests.e2e.test_local_serve import http, served  # noqa: F401 - the module's runtime and server

REQUESTS = int(os.environ.get("HIVEMIND_FUZZ_REQUESTS", "1000"))
SEED = int(os.environ.get("HIVEMIND_FUZZ_SEED", "20261129"))
WEIRD = ["", " ", "\x00", "é", "😀", "../../etc/passwd", "' OR 1=1 --", "${jndi:x}", "a" * 300, "-1", "null", "{}"]


class Generator:
    def __init__(self, document: dict[str, Any], rng: random.Random):
        self.schemas = document["components"]["schemas"]
        self.rng = rng

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.schemas[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def value(self, schema: dict[str, Any], depth: int = 0) -> Any:
        """Mostly a valid value for `schema`; sometimes one just wrong."""
        schema = self.resolve(schema)
        rng = self.rng
        if rng.random() < 0.08 or depth > 6:
            return rng.choice([None, 0, -1, 2**63, 1.5, True, [], {}, *WEIRD])
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return self.value(rng.choice(schema[key]), depth + 1)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return rng.choice(schema["enum"])
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            props = schema.get("properties", {})
            required = set(schema.get("required", []))
            out = {n: self.value(s, depth + 1) for n, s in props.items() if n in required or rng.random() < 0.5}
            if rng.random() < 0.1:
                out[rng.choice(WEIRD[8:]) or "extra"] = rng.choice(WEIRD)
            if "additionalProperties" in schema and isinstance(schema["additionalProperties"], dict):
                for _ in range(rng.choice([0, 1, 3, 60])):
                    name = "".join(rng.choices(string.ascii_uppercase + "_", k=rng.randint(1, 12)))
                    out[name] = self.value(schema["additionalProperties"], depth + 1)
            return out
        if kind == "array":
            return [self.value(schema.get("items", {}), depth + 1) for _ in range(rng.choice([0, 1, 2, 5]))]
        if kind == "integer":
            low, high = schema.get("minimum", -(2**31)), schema.get("maximum", 2**31)
            return rng.choice([low, high, low - 1, high + 1, rng.randint(low, high)])
        if kind == "string":
            if "pattern" in schema and rng.random() < 0.5:
                return rng.choice(
                    ["ok-app", "arn:aws:acm:us-east-1:123456789012:certificate/x", "vpc-0123456789abcdef0"]
                )
            length = rng.choice([0, 1, 5, schema.get("maxLength", 64), schema.get("maxLength", 64) + 1])
            return "".join(rng.choices(string.printable + "é😀", k=min(length, 5000)))
        return rng.choice(WEIRD)


def _request(gen: Generator, document: dict[str, Any], source: dict[str, Any]) -> tuple[str, str, bytes | None, dict]:
    rng = gen.rng
    path, operations = rng.choice(list(document["paths"].items()))
    method = rng.choice([*operations, "patch", "put", "options"] if rng.random() < 0.1 else list(operations))
    operation = operations.get(method, {})
    method = method.upper()
    concrete = path.replace(
        "{deployment_id}", rng.choice(["d-nope", "d-20261129-000000-00000000", "%2e%2e", "x" * 300])
    )
    query = {}
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "query" and rng.random() < 0.6:
            query[parameter["name"]] = gen.value(parameter.get("schema", {}))
    if query:
        from urllib.parse import urlencode

        concrete += "?" + urlencode({k: json.dumps(v) if not isinstance(v, str) else v for k, v in query.items()})
    headers = {
        "Content-Type": rng.choice(["application/json"] * 8 + ["text/plain", "application/x-www-form-urlencoded"])
    }
    if rng.random() < 0.2:
        headers["Idempotency-Key"] = rng.choice(["k", "", " ", "k" * 300, "é", "key-1"])
    body = None
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is not None or rng.random() < 0.05:
        document_body = gen.value(content["schema"]) if content else rng.choice(WEIRD)
        if isinstance(document_body, dict) and rng.random() < 0.3:
            document_body["source"] = source  # a real upload: some of these requests are valid
        text = json.dumps(document_body)
        if rng.random() < 0.05:
            text = text[: rng.randint(0, len(text))]  # truncated JSON
        body = text.encode()
    return method, concrete, body, headers


@pytest.mark.slow
def test_fuzzing_the_served_api_gives_no_5xx_and_one_error_shape(served):  # noqa: F811
    from tests.e2e.test_local_serve import _upload

    aws, api = served
    document = json.loads(http("GET", api.url + "/openapi.json")[2])
    source = _upload(api.url)
    sfn = aws.client("stepfunctions")
    arn = aws.settings.state_machine_arn
    before = {e["name"] for e in sfn.list_executions(stateMachineArn=arn)["executions"]}
    gen = Generator(document, random.Random(SEED))
    statuses: Counter[int] = Counter()
    accepted: set[str] = set()
    for _ in range(REQUESTS):
        method, path, body, headers = _request(gen, document, source)
        status, _, answer = http(method, api.url + path, body, headers)
        statuses[status] += 1
        assert status < 500, (method, path, body and body[:500], answer[:500])
        if status >= 400:
            problem = json.loads(answer)
            assert set(problem) == {"error", "request_id"}, (method, path, answer[:300])
            assert {"code", "message", "field"} <= set(problem["error"]), answer[:300]
        elif status == 202:
            accepted.add(json.loads(answer)["deployment_id"])
    after = {e["name"] for e in sfn.list_executions(stateMachineArn=arn)["executions"]}
    started = after - before
    assert started <= accepted, f"executions started by refused requests: {sorted(started - accepted)}"
    print(
        f"\nfuzz: {REQUESTS} requests, seed {SEED}: statuses {dict(sorted(statuses.items()))}; "
        f"{len(accepted)} accepted, {len(started)} executions started"
    )
