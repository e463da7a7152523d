"""What the local runtime's patches consult: one state a process (moto's backends are
process-global too), reset by each LocalRuntime; and the account the runtime plays.
"""

from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REGION = "us-east-1"

ACCOUNT = "123456789012"


@dataclass
class _State:
    """What the patches consult; one per process (moto's backends are process-global too)."""

    active: bool = False  # patches fall through to moto's own behaviour unless a runtime runs
    functions: dict[str, Any] = field(default_factory=dict)  # name -> functions._Function
    faults: set[str] = field(default_factory=set)
    fired: set[str] = field(default_factory=set)
    time_scale: float = 0.01
    provision_delay_s: float = 0.2
    scratch: Path = field(default_factory=lambda: Path(tempfile.gettempdir()))
    cache: Path = field(default_factory=lambda: Path(tempfile.gettempdir()))
    threads: list[threading.Thread] = field(default_factory=list)
    in_flight: int = 0  # event deliveries running now
    restoring: bool = False  # an update is rolling back: the previous version builds as it did
    invocations: list[tuple[str, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


_state = _State()

# moto's log groups and streams are not thread-safe: the functions' lines and the instances'
# CloudWatch agents put through this
logs_lock = threading.Lock()


def package_cache(*parts: str) -> Path:
    """Where local runtimes keep what outlives them (package caches for pip, npm and Node builds,
    so an unchanged app installs in seconds; HiveMind's translated template): `HIVEMIND_CACHE`,
    else ~/.cache/hivemind. `parts` name a folder inside it."""
    folder = Path(os.environ.get("HIVEMIND_CACHE") or Path.home() / ".cache" / "hivemind").joinpath(*parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
