"""The CLI's way to a HiveMind API (cli/remote.py): which one it finds, and how it signs."""

import json

import pytest

from hivemind.cli import remote
from hivemind.errors import HiveMindError


def test_a_deployed_api_is_called_with_a_sigv4_signature_for_execute_api(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    sent = {}

    def fake_send(method, url, data, headers):
        sent.update(method=method, url=url, data=data, headers=headers)
        return 200, json.dumps({"deployments": [], "next_token": None})

    monkeypatch.setattr(remote, "_send", fake_send)
    api = remote.Api("https://abc123.execute-api.eu-west-1.amazonaws.com/v1")
    assert not api.local
    assert api.call("GET", "/deployments", query={"app": "shop", "limit": 5}) == {"deployments": [], "next_token": None}
    assert sent["url"] == "https://abc123.execute-api.eu-west-1.amazonaws.com/v1/deployments?app=shop&limit=5"
    authorization = sent["headers"]["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/execute-api/aws4_request" in authorization and "X-Amz-Date" in sent["headers"]


def test_the_apis_own_error_is_what_the_cli_says(monkeypatch):
    body = {"error": {"code": "conflict", "message": "app shop has an active deployment, d-1", "field": None}}
    monkeypatch.setattr(remote, "_send", lambda *a: (409, json.dumps(body)))
    with pytest.raises(remote.ApiError, match=r"^app shop has an active deployment, d-1 \(HTTP 409\)$"):
        remote.Api("http://127.0.0.1:8790/v1").call("POST", "/deployments", body={})


def test_which_api_is_used(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in ("HIVEMIND_ENDPOINT", "HIVEMIND_STACK_NAME"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(HiveMindError, match="hivemind local serve"):
        remote.find_api()
    # a serve.json whose process is gone is not a server
    remote.SERVE_FILE.parent.mkdir(parents=True)
    remote.SERVE_FILE.write_text(json.dumps({"url": "http://127.0.0.1:1/v1", "pid": 2**22 + 12345}))
    with pytest.raises(HiveMindError):
        remote.find_api()
    import os

    remote.SERVE_FILE.write_text(json.dumps({"url": "http://127.0.0.1:8790/v1", "pid": os.getpid()}))
    assert remote.find_api().url == "http://127.0.0.1:8790/v1"
    assert remote.find_api("https://x.execute-api.us-east-1.amazonaws.com/v1").url.startswith("https://x.")
    monkeypatch.setenv("HIVEMIND_ENDPOINT", "http://127.0.0.1:9/v1")
    assert remote.find_api().url == "http://127.0.0.1:9/v1"
