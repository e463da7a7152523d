"""DynamoDB: conditional writes are atomic, and a read never sees an item half written.

On AWS a write with a ConditionExpression checks and writes one item atomically: of two
conditional writes racing for one item, one fails with ConditionalCheckFailedException. moto
checks, then writes, with nothing between them, so two threads (two API requests served at
once) can both pass. And moto's responses turn an item into JSON by walking the stored item
itself, so a read on one thread while another thread updates that item failed with "dictionary
changed size during iteration" (seen in CI: a GET of a deployment while its workflow wrote it).
Here every request to DynamoDB, read or write, runs under one lock, from the backend's work to
the response's JSON, which restores both guarantees (and serialises the requests, which costs
nothing at this scale).
"""

from __future__ import annotations

import functools
import threading
from typing import Any

_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
_READS = ("get_item", "batch_get_item", "query", "scan", "transact_get_items")
_lock = threading.RLock()


def patch_atomic_writes() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.responses import DynamoHandler

    for cls, names in ((DynamoDBBackend, _WRITES), (DynamoHandler, _WRITES + _READS)):
        for name in names:
            _locked(cls, name)


def _locked(cls: type, name: str) -> None:
    original = getattr(cls, name)

    @functools.wraps(original)
    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _lock:
            return original(self, *args, **kwargs)

    setattr(cls, name, locked)
