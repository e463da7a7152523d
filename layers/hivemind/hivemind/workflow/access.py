"""Who may change an app: the principal that created it, or an admin (the stack's AdminPrincipals).

Principals are compared as IAM names them for policies: an assumed role's session ARN
(arn:aws:sts::123456789012:assumed-role/Deployer/alice) is its role
(arn:aws:iam::123456789012:role/Deployer), so every session of one role is the same principal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from hivemind.errors import AccessDenied

_SESSION = re.compile(r"^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([^/]+)/[^/]+$")


def principal(arn: str) -> str:
    """The principal an ARN stands for (an assumed-role session -> its role)."""
    found = _SESSION.match(arn)
    return f"arn:{found[1]}:iam::{found[2]}:role/{found[3]}" if found else arn


def check_may_change(app_name: str, owner: str | None, caller: str | None, admins: Iterable[str] = ()) -> None:
    """Refuse `caller` changing (deploying, rolling back, destroying) an app `owner` created.

    No caller is HiveMind itself (a push to a tracked repository, the local CLI's one-off
    deploy); an app without an owner was created before owners were recorded: anyone may."""
    if caller is None or not owner:
        return
    who = principal(caller)
    if who == principal(owner) or who in {principal(a) for a in admins if a}:
        return
    raise AccessDenied(
        f"app {app_name} belongs to {owner}; only that principal or an admin (the stack's AdminPrincipals) "
        "may deploy, roll back or destroy it"
    )
