from pathlib import Path

import pytest

from hivemind.cli.main import default_app_name
from hivemind.models.request import APP_NAME_PATTERN


@pytest.mark.parametrize(
    ("folder", "expected"),
    [("flask-app", "flask-app"), ("My_App", "my-app"), ("123", "app-123"), ("a" * 50, "a" * 32), ("__", "app")],
)
def test_default_app_name_is_always_valid(folder, expected):
    import re

    name = default_app_name(Path("/tmp") / folder)
    assert name == expected
    assert re.match(APP_NAME_PATTERN, name)
