"""The one boto3 client factory: region, retries and endpoint in one place, one client per
service and region (clients are thread-safe; sessions are not, hence the lock)."""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, user_agent_extra="hivemind/0.1")
_lock = threading.Lock()
_clients: dict[tuple[str, str | None], Any] = {}


def client(service: str, region: str | None = None) -> Any:
    """A cached client. The endpoint follows AWS_ENDPOINT_URL[_<SERVICE>] like every SDK."""
    key = (service, region)
    cached = _clients.get(key)
    if cached is not None:
        return cached
    with _lock:
        if key not in _clients:
            session = boto3.session.Session()
            _clients[key] = session.client(service, region_name=region, config=_CONFIG)  # type: ignore[call-overload]
        return _clients[key]


def reset() -> None:
    """Forget cached clients (tests and the local runtime start from a clean slate)."""
    with _lock:
        _clients.clear()
