"""The HTML report: written by the Report step beside the JSON for real deployments on the local
runtime (one that serves, one whose app dies at start), opened in a real headless Chromium, and
read off its screenshot: one bar per step and per stack resource, in the colours of their
outcomes, and the facts a person looks for."""

from __future__ import annotations

import json

import pytest

from hivemind.local.deploy import deploy_on, logs_to
from hivemind.local.runtime import LocalRuntime
from hivemind.workflow.report_page import COLOURS
from tests.conftest import ROOT
from tests.fixtures import browser

APP = ROOT / "tests" / "fixtures" / "apps" / "stdlib-app"
DYING = {
    "requirements.txt": "",
    "Procfile": "web: python server.py\n",
    "server.py": "import sys\nprint('dying-app: reading settings', flush=True)\n"
    "sys.exit('dying-app: DATABASE_URL is not set')\n",
}


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """{name: (report JSON, the page the Report step stored in S3)} for a served and a failed app."""
    folder = tmp_path_factory.mktemp("pages")
    dying = folder / "dying-src"
    dying.mkdir()
    for name, text in DYING.items():
        (dying / name).write_text(text)
    found = {}
    with logs_to(folder / "local.log"), LocalRuntime(ROOT) as aws:
        s3, bucket = aws.client("s3"), aws.settings.artifacts_bucket
        for name, source in (("served", APP), ("dying", dying)):
            record, _ = deploy_on(aws, source, {"app_name": name}, reports_dir=folder / "reports")
            assert record.report_key is not None
            report = json.loads(s3.get_object(Bucket=bucket, Key=record.report_key)["Body"].read())
            page_key = record.report_key.rsplit("/", 1)[0] + "/report.html"
            page = folder / f"{name}.html"
            page.write_bytes(s3.get_object(Bucket=bucket, Key=page_key)["Body"].read())
            found[name] = (report, page)
    return found


def test_the_page_is_self_contained_and_says_what_happened(pages):
    report, page = pages["dying"]
    html = page.read_text()
    # one file: no script, no stylesheet or image to fetch
    assert "<script" not in html and "<link" not in html and "src=" not in html
    assert report["status"] == "FAILED" and "What went wrong" in html
    assert report["diagnosis"]["fix"] in html.replace("&#x27;", "'")
    assert "dying-app: DATABASE_URL is not set" in html  # the instance's last lines
    served, page = pages["served"]
    html = page.read_text()
    assert served["url"] in html and "Smoke test through the load balancer" in html
    assert "requirements.txt lists the dependencies" in html  # the plan's evidence
    assert "Cost estimate" in html and f"${served['plan']['cost']['monthly_usd']:,.2f}" in html


@pytest.mark.skipif(
    browser.chromium() is None,
    reason="Chromium is not installed: `make test` installs Debian's chromium where it may (root, apt-get); "
    "elsewhere `apt-get install chromium`",
)
@pytest.mark.parametrize("name", ["served", "dying"])
def test_chromium_draws_one_bar_per_step_and_resource_in_its_outcomes_colour(pages, name, tmp_path):
    report, page = pages[name]
    _, _, rows = browser.pixels(browser.screenshot(page, tmp_path / f"{name}.png"))
    colours = {browser.hex_rgb(value): key for key, value in COLOURS.items()}
    # the bars: runs of rows holding a bar colour, each run one bar, named by its commonest colour
    bars: list[str] = []
    in_bar: dict[str, int] = {}
    for row in rows:
        seen: dict[str, int] = {}
        for pixel in row:
            key = colours.get(pixel)
            if key:
                seen[key] = seen.get(key, 0) + 1
        if seen:
            for key, count in seen.items():
                in_bar[key] = in_bar.get(key, 0) + count
        elif in_bar:
            bars.append(max(in_bar, key=in_bar.__getitem__))
            in_bar = {}
    expected = [
        *("step-ok" if s["status"] == "SUCCEEDED" else "step-failed" for s in report["steps"]),
        *(
            "resource-failed"
            if r["reason"]  # it failed, even if the roll back deleted it since
            else "resource-gone"
            if r["status"].startswith("DELETE")
            else "resource-ok"
            for r in report["resources"]
        ),
    ]
    assert bars == expected
    if name == "dying":  # the failed step's bar is red; the instance that failed is its resource's bar
        assert "step-failed" in bars and "resource-failed" in bars
    else:
        assert set(bars) == {"step-ok", "resource-ok"} and len(report["resources"]) >= 15
    text = browser.rendered_text(page)
    assert report["deployment_id"] in text and report["status"] in text and "Timeline" in text
