"""The deployments table: one item per deployment, keyed by `deployment_id`.

Besides the record it holds the task token of a "Wait for stack" state, claimed atomically
so that exactly one of (the waiting function, the stack-status event) resumes the execution.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from hivemind.errors import DeploymentConflict, DeploymentNotFound
from hivemind.models import DeploymentRecord

_ser = TypeSerializer()
_de = TypeDeserializer()
# Every record carries `listed` (one value), the key of the `Recent` index: listings are queries on
# it, newest first, never scans of the table (which also holds the parked task tokens).
RECENT_INDEX, LISTED = "Recent", "deployment"
_INTERNAL: tuple[str, ...] = ("listed", "waiting_on", "parked_at")


def _to_item(values: dict[str, Any]) -> dict[str, Any]:
    plain = json.loads(json.dumps(values, default=str), parse_float=Decimal)
    return {k: _ser.serialize(v) for k, v in plain.items() if v is not None}


def _from_item(item: dict[str, Any]) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return int(value) if value == value.to_integral_value() else float(value)
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return {k: plain(_de.deserialize(v)) for k, v in item.items()}


def now() -> datetime:
    return datetime.now(UTC)


def put_new(ddb: Any, table: str, record: DeploymentRecord) -> None:
    """Store a new record; the same id twice is a conflict (ids are idempotency keys)."""
    try:
        ddb.put_item(
            TableName=table,
            Item=_to_item({**record.model_dump(mode="json"), "listed": LISTED}),
            ConditionExpression="attribute_not_exists(deployment_id)",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise DeploymentConflict(f"deployment {record.deployment_id} already exists") from exc
        raise


def get(ddb: Any, table: str, deployment_id: str) -> DeploymentRecord:
    item = ddb.get_item(TableName=table, Key={"deployment_id": {"S": deployment_id}}, ConsistentRead=True)
    if "Item" not in item:
        raise DeploymentNotFound(f"no deployment {deployment_id}")
    values = _from_item(item["Item"])
    for name in _INTERNAL:
        values.pop(name, None)
    return DeploymentRecord.model_validate(values)


def update(ddb: Any, table: str, deployment_id: str, *, clear: tuple[str, ...] = (), **fields: Any) -> None:
    """Set some fields of an existing record (and updated_at); `clear` removes others (a None
    among `fields` leaves that field as it was)."""
    fields["updated_at"] = now().isoformat()
    values = _to_item(fields)
    names = {f"#f{i}": k for i, k in enumerate(values)}
    names.update({f"#c{i}": k for i, k in enumerate(clear)})
    expr = "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(values)))
    if clear:
        expr += " REMOVE " + ", ".join(f"#c{i}" for i in range(len(clear)))
    ddb.update_item(
        TableName=table,
        Key={"deployment_id": {"S": deployment_id}},
        UpdateExpression=expr,
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={f":v{i}": v for i, v in enumerate(values.values())},
        ConditionExpression="attribute_exists(deployment_id)",
    )


# a record's fields while the Medic has a step pending (the last two put it in the Waiting index)
PENDING_FIELDS = ("medic_pending", "waiting_on", "parked_at")


def set_medic_pending(ddb: Any, table: str, deployment_id: str, pending: str | None) -> None:
    """What the Medic started on a deployment's stack and finishes once it settles (None: done).
    A pending record joins the sparse Waiting index, where the reconciler finds it."""
    if pending is None:
        update(ddb, table, deployment_id, clear=PENDING_FIELDS)
    else:
        since = datetime.now(UTC).isoformat()
        update(ddb, table, deployment_id, medic_pending=pending, waiting_on=WAITING_KEY, parked_at=since)


def pending_ends(ddb: Any, table: str) -> list[str]:
    """The deployments whose end the Medic has started and not finished (the Waiting index's
    records, beside the parked waiters)."""
    return [key for key, _, _ in _waiting(ddb, table) if not key.startswith(WAITER_PREFIX)]


def page(
    ddb: Any,
    table: str,
    *,
    app_name: str | None = None,
    status: str | None = None,
    limit: int = 50,
    after: dict[str, Any] | None = None,
) -> tuple[list[DeploymentRecord], dict[str, Any] | None]:
    """One page of deployments, newest first, optionally of one app and/or in one status, and
    the key to continue from (None at the end). Filters apply after the index's read, so a page
    may hold fewer than `limit` records while more follow."""
    kwargs: dict[str, Any] = {
        "TableName": table,
        "IndexName": RECENT_INDEX,
        "KeyConditionExpression": "listed = :listed",
        "ExpressionAttributeValues": {":listed": {"S": LISTED}},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    filters, names = [], {}
    if app_name is not None:
        filters.append("app_name = :app")
        kwargs["ExpressionAttributeValues"][":app"] = {"S": app_name}
    if status is not None:
        filters.append("#status = :status")
        names["#status"] = "status"
        kwargs["ExpressionAttributeValues"][":status"] = {"S": status}
    if filters:
        kwargs["FilterExpression"] = " AND ".join(filters)
    if names:
        kwargs["ExpressionAttributeNames"] = names
    if after:
        kwargs["ExclusiveStartKey"] = after
    found = ddb.query(**kwargs)
    records = []
    for item in found["Items"]:
        values = _from_item(item)
        for name in _INTERNAL:
            values.pop(name, None)
        records.append(DeploymentRecord.model_validate(values))
    return records, found.get("LastEvaluatedKey")


def list_recent(
    ddb: Any, table: str, limit: int = 50, *, app_name: str | None = None, status: str | None = None
) -> list[DeploymentRecord]:
    """Up to `limit` deployments, newest first (pages of the index read until enough match)."""
    records: list[DeploymentRecord] = []
    after = None
    while len(records) < limit:
        found, after = page(ddb, table, app_name=app_name, status=status, limit=limit, after=after)
        records.extend(found)
        if after is None:
            break
    return records[:limit]


WAITER_PREFIX = "waiter#"
# A sparse index of the parked tokens (only waiter items carry its key): the reconciler finds every
# execution waiting on a stack with one Query, never a scan of the deployments.
WAITING_INDEX, WAITING_KEY = "Waiting", "stack"


def park_task_token(
    ddb: Any, table: str, stack_id: str, deployment_id: str, token: str, *, for_medic: bool = False
) -> None:
    """Park the token of the execution waiting on a stack, keyed by the stack: whatever the
    stack's tags say after an update or a roll back, its status event finds the waiter.
    `for_medic`: the Medic's wait, which any settled status ends (a deletion's too)."""
    item = {
        "deployment_id": f"{WAITER_PREFIX}{stack_id}",
        "waiting": deployment_id,
        "task_token": token,
        "waiting_on": WAITING_KEY,
        "parked_at": datetime.now(UTC).isoformat(),
        "for_medic": for_medic,
    }
    ddb.put_item(TableName=table, Item=_to_item(item))


def parked(ddb: Any, table: str) -> list[tuple[str, str, str]]:
    """(stack id, deployment id, parked at) of every execution waiting on a stack, oldest first."""
    return [
        (key.removeprefix(WAITER_PREFIX), waiting, at)
        for key, waiting, at in _waiting(ddb, table)
        if key.startswith(WAITER_PREFIX)
    ]


def _waiting(ddb: Any, table: str) -> list[tuple[str, str, str]]:
    """(key, deployment id, since) of every item in the sparse Waiting index."""
    found: list[tuple[str, str, str]] = []
    kwargs: dict[str, Any] = {
        "TableName": table,
        "IndexName": WAITING_INDEX,
        "KeyConditionExpression": "waiting_on = :stack",
        "ExpressionAttributeValues": {":stack": {"S": WAITING_KEY}},
    }
    while True:
        page = ddb.query(**kwargs)
        for item in page["Items"]:
            key = item["deployment_id"]["S"]
            waiting = item.get("waiting", {}).get("S", key)
            since = item["parked_at"]["S"]
            found.append((key, waiting, since))
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def claim_task_token(ddb: Any, table: str, stack_id: str) -> str | None:
    """Remove and return the token parked for a stack; None when someone else claimed it first."""
    claimed = claim_waiter(ddb, table, stack_id)
    return claimed[0] if claimed else None


def claim_waiter(ddb: Any, table: str, stack_id: str) -> tuple[str, bool] | None:
    """Remove the waiter parked for a stack: (its task token, whether it is the Medic's)."""
    out = ddb.delete_item(
        TableName=table, Key={"deployment_id": {"S": f"{WAITER_PREFIX}{stack_id}"}}, ReturnValues="ALL_OLD"
    )
    old = out.get("Attributes")
    if not old:
        return None
    return str(old["task_token"]["S"]), bool(old.get("for_medic", {}).get("BOOL", False))


# One item per app (never listed: it has no `listed`): who created the app, and its active
# deployment. A new deployment takes the app only while the one it names has ended, by a write
# conditional on that name: of two starts at the same moment exactly one wins. Nothing has to
# release it (an ending that crashed cannot leave it held): `holds` asks whether the named one
# still runs.
APP_PREFIX = "app#"


def app_owner(ddb: Any, table: str, app_name: str) -> str | None:
    item = ddb.get_item(TableName=table, Key={"deployment_id": {"S": f"{APP_PREFIX}{app_name}"}}, ConsistentRead=True)
    owner = item.get("Item", {}).get("owner", {}).get("S")
    return str(owner) if owner else None


def active_deployment(ddb: Any, table: str, app_name: str) -> str | None:
    """The deployment the app's item names as its active one (it may have ended since)."""
    item = ddb.get_item(TableName=table, Key={"deployment_id": {"S": f"{APP_PREFIX}{app_name}"}}, ConsistentRead=True)
    active = item.get("Item", {}).get("active", {}).get("S")
    return str(active) if active else None


def claim_app(
    ddb: Any,
    table: str,
    app_name: str,
    deployment_id: str,
    *,
    caller: str | None,
    holds: Callable[[str, str | None], bool],
    check_owner: Callable[[str | None], None],
) -> None:
    """Make `deployment_id` the app's active deployment (recording `caller` as the owner of a
    new app), or raise: DeploymentConflict naming the one that still runs (`holds(holder,
    claimed_at)` says whether it does), or what `check_owner(owner)` raises for a caller who may
    not change the app."""
    key = {"deployment_id": {"S": f"{APP_PREFIX}{app_name}"}}
    for _ in range(5):
        item = ddb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        now_text = now().isoformat()
        try:
            if item is None:
                check_owner(None)
                values = {"app": app_name, "owner": caller, "active": deployment_id, "since": now_text}
                ddb.put_item(
                    TableName=table,
                    Item={**key, **_to_item(values)},
                    ConditionExpression="attribute_not_exists(deployment_id)",
                )
                return
            check_owner(item.get("owner", {}).get("S"))
            holder = item.get("active", {}).get("S")
            if holder and holder != deployment_id and holds(holder, item.get("since", {}).get("S")):
                raise DeploymentConflict(
                    f"app {app_name} has an active deployment, {holder}; wait for it to end (`hivemind status "
                    f"{holder}`) and deploy again",
                    active=holder,
                )
            ddb.update_item(
                TableName=table,
                Key=key,
                UpdateExpression="SET active = :new, since = :since"
                + (", #owner = :caller" if caller and "owner" not in item else ""),
                ConditionExpression="active = :holder" if holder else "attribute_not_exists(active)",
                ExpressionAttributeValues={
                    ":new": {"S": deployment_id},
                    ":since": {"S": now_text},
                    **({":holder": {"S": holder}} if holder else {}),
                    **({":caller": {"S": caller}} if caller and "owner" not in item else {}),
                },
                **({"ExpressionAttributeNames": {"#owner": "owner"}} if caller and "owner" not in item else {}),
            )
            return
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            # another start took it between the read and the write: read again, decide again
    raise DeploymentConflict(f"app {app_name}: several deployments started at once; deploy again")
