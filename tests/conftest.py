"""Shared fixtures. Layers: tests/unit (pure), tests/integration (moto), tests/e2e (local runtime)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"
EXAMPLES = ROOT / "examples"


@pytest.fixture
def load_event():
    def load(name: str) -> dict:
        # the sample API events name the artifacts bucket as a placeholder; tests' HiveMind calls it "artifacts"
        return json.loads((EVENTS / name).read_text().replace("REPLACED-BY-TESTS", "artifacts"))

    return load
