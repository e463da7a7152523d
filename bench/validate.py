"""Benchmark: validating generated templates with the warm cfn-lint runner (what a warm
Validate Lambda does) against a fresh `cfn-lint` CLI process per template, plus cfn-guard.

Figures only, never asserted: compare the ratio within one run.

    .venv/bin/python bench/validate.py [-n 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _median(fn, n: int) -> float:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5, help="runs per measurement")
    args = parser.parse_args()

    from hivemind.planning import make_plan
    from hivemind.policy import guard_findings, lint_template
    from hivemind.policy.lint import runner
    from hivemind.templating import render_template, to_yaml

    started = time.perf_counter()
    runner(("us-east-1",))
    build_s = time.perf_counter() - started
    print(f"cfn-lint runner build (once per container): {build_s:.3f} s")
    cli = str(Path(sys.executable).parent / "cfn-lint")
    ratios = []
    for example in ("flask-app", "express-app"):
        plan = make_plan(ROOT / "examples" / example, app_name=example)
        plan = plan.model_copy(update={"source_bundle": "s3://bucket/source.zip"})
        body = to_yaml(render_template(plan, deployment_id="bench", stack_name=f"hivemind-{example}"))
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
            handle.write(body)
        warm = _median(lambda b=body: lint_template(b), args.n)
        fresh = _median(lambda p=handle.name: subprocess.run([cli, p], capture_output=True, check=False), args.n)
        guard = _median(lambda b=body: guard_findings(b), args.n)
        ratios.append(fresh / warm)
        print(f"{example} ({len(body.splitlines())} lines):")
        print(f"  warm runner        {warm:.3f} s")
        print(f"  fresh cfn-lint CLI {fresh:.3f} s   ({fresh / warm:.1f}x the warm runner)")
        print(f"  cfn-guard (pack)   {guard:.3f} s")
    print(f"fresh CLI / warm runner: {statistics.median(ratios):.1f}x (median over templates)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
