"""The one boto3 client factory: region, retries and endpoint in one place, one session per
process and one client per service and region (clients are thread-safe; sessions are not,
hence the lock).

botocore parses its data files (endpoints.json alone is about 1 MB) once per Session; boto3,
moto's EC2 set-up, Powertools and the X-Ray sampler each make Sessions of their own, so every
Session of this process shares one data loader (`share_botocore_data`): measured, a third of
the local runtime's start went to parsing the same JSON again.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, user_agent_extra="hivemind/0.1")
# presigned upload URLs signed with SigV4 (botocore may still presign with SigV2, which S3 is retiring)
_S3_CONFIG = _CONFIG.merge(Config(signature_version="s3v4"))
_lock = threading.Lock()
_clients: dict[tuple[str, str | None], Any] = {}
_session: boto3.session.Session | None = None
_loaders: dict[str | None, botocore.loaders.Loader] = {}


def _shared_loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
    # botocore caches what a Loader reads per Loader instance; one Loader per data path makes
    # that cache process-wide (what it caches is read-only data: service models, endpoints)
    loader = _loaders.get(search_path_string)
    if loader is None:
        loader = _loaders.setdefault(search_path_string, botocore.loaders.create_loader(search_path_string))
    return loader


def share_botocore_data() -> None:
    """Make every botocore Session of this process, ours or a library's, share one data loader."""
    botocore.session.create_loader = _shared_loader


share_botocore_data()


def client(service: str, region: str | None = None) -> Any:
    """A cached client. The endpoint follows AWS_ENDPOINT_URL[_<SERVICE>] like every SDK."""
    key = (service, region)
    cached = _clients.get(key)
    if cached is not None:
        return cached
    with _lock:
        if key not in _clients:
            global _session
            if _session is None:
                _session = boto3.session.Session()
            config = _S3_CONFIG if service == "s3" else _CONFIG
            _clients[key] = _session.client(service, region_name=region, config=config)  # type: ignore[call-overload]
        return _clients[key]


def reset() -> None:
    """Forget cached clients and the session with its credentials (tests and the local runtime
    start from a clean slate; the shared data loader stays: it holds only botocore's data)."""
    global _session
    with _lock:
        _clients.clear()
        _session = None
