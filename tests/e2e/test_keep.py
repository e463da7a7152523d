"""`hivemind deploy --local --keep`, as a user runs it: the app answers at the printed URL until
Ctrl-C, then nothing of it is left running."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import EXAMPLES, ROOT


def test_keep_serves_the_app_at_its_local_url_until_ctrl_c(tmp_path: Path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    command = [sys.executable, "-m", "hivemind.cli.main", "deploy", str(EXAMPLES / "flask-app"), "--local", "--keep"]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        # When the deployment has succeeded, the summary prints the URL of the local load balancer
        url = None
        deadline = time.monotonic() + 240
        assert process.stdout is not None
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                break
            match = re.search(r"URL\s+(http://127\.0\.0\.1:\d+)", line)
            url = match.group(1) if match else None
        assert url, process.stderr.read() if process.poll() is not None else "no URL printed"
        # Then the app answers there, through the proxy, while --keep runs
        with urllib.request.urlopen(url + "/api/time", timeout=10) as response:
            assert response.status == 200 and b"up_since" in response.read()
    finally:
        os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    # And Ctrl-C ends it cleanly: the proxy no longer answers
    assert "nothing is left running" in stderr
    try:
        urllib.request.urlopen(url, timeout=2)
        answered = True
    except OSError:
        answered = False
    assert not answered
