"""DynamoDB: conditional writes are atomic.

On AWS a write with a ConditionExpression checks and writes one item atomically: of two
conditional writes racing for one item, one fails with ConditionalCheckFailedException. moto
checks, then writes, with nothing between them, so two threads (two API requests served at
once) can both pass. Here every write runs under one lock, which restores the guarantee (and
serialises writes, which costs nothing at this scale).
"""

from __future__ import annotations

import functools
import threading
from typing import Any

_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
_lock = threading.RLock()


def patch_atomic_writes() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    for name in _WRITES:
        original = getattr(DynamoDBBackend, name)

        @functools.wraps(original)
        def locked(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _lock:
                return __original(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, locked)
