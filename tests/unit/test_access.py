"""Who may change an app (workflow/access.py)."""

import pytest

from hivemind.errors import AccessDenied
from hivemind.workflow.access import check_may_change, principal

ROLE = "arn:aws:iam::123456789012:role/Deployer"


def test_every_session_of_a_role_is_the_role():
    assert principal("arn:aws:sts::123456789012:assumed-role/Deployer/alice") == ROLE
    assert principal("arn:aws-us-gov:sts::123456789012:assumed-role/Deployer/ci-42") == (
        "arn:aws-us-gov:iam::123456789012:role/Deployer"
    )
    assert principal("arn:aws:iam::123456789012:user/bob") == "arn:aws:iam::123456789012:user/bob"


def test_only_the_owner_or_an_admin_may_change_an_app():
    alice = "arn:aws:sts::123456789012:assumed-role/Deployer/alice"
    bob_session = "arn:aws:sts::123456789012:assumed-role/Deployer/bob"
    mallory = "arn:aws:iam::123456789012:user/mallory"
    check_may_change("web", alice, bob_session)  # the same role, another session
    check_may_change("web", alice, mallory, admins=["arn:aws:iam::123456789012:user/mallory"])
    check_may_change("web", None, mallory)  # an app from before owners were recorded
    check_may_change("web", alice, None)  # HiveMind itself (a push)
    with pytest.raises(AccessDenied, match=r"app web belongs to arn:aws:sts::123456789012:assumed-role/Deployer/alice"):
        check_may_change("web", alice, mallory, admins=[ROLE.replace("Deployer", "Admin")])
