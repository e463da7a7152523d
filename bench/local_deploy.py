"""Benchmark: N local deployments of each example app, end to end on the local runtime.

Prints the median and spread of the end-to-end time and of each step, plus the runtime's
start-up time and peak memory. Figures only (never asserted): these machines are shared
and noisy, so compare ratios within one run.

    .venv/bin/python bench/local_deploy.py [-n 5] [--write docs/PERFORMANCE.md]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ("flask-app", "express-app")


def _spread(values: list[float]) -> str:
    if not values:
        return "-"
    med = statistics.median(values)
    return f"{med:7.3f} s  (min {min(values):.3f}, max {max(values):.3f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5, help="deployments per example")
    parser.add_argument("--write", type=Path, help="also write the figures to this markdown file")
    args = parser.parse_args()

    from hivemind.local.deploy import deploy_locally

    lines = [f"# local deployments: n={args.n} per example, Python {sys.version.split()[0]}"]
    with tempfile.TemporaryDirectory() as tmp:
        for example in EXAMPLES:
            totals: list[float] = []
            workflows: list[float] = []
            steps: dict[str, list[float]] = defaultdict(list)
            for _ in range(args.n):
                started = time.perf_counter()
                record, _ = deploy_locally(
                    ROOT / "examples" / example,
                    {"app_name": example},
                    reports_dir=Path(tmp) / "reports",
                    root=ROOT,
                    timeout_s=300,
                )
                totals.append(time.perf_counter() - started)
                if record.status != "SUCCEEDED":
                    print(f"{example}: deployment {record.status}: {record.error}", file=sys.stderr)
                    return 1
                for step in record.steps:
                    steps[step.name].append(step.duration_s or 0.0)
                last = max(s.end for s in record.steps if s.end)
                workflows.append((last - record.created_at).total_seconds())
            lines.append(f"\n## {example}")
            lines.append(f"  {'end to end (with runtime start)':<34} {_spread(totals)}")
            lines.append(f"  {'workflow (start to report)':<34} {_spread(workflows)}")
            for name, values in steps.items():
                lines.append(f"    {name:<32} {_spread(values)}")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines.append(f"\npeak RSS of the benchmark process: {peak_mib:.0f} MiB")
    text = "\n".join(lines)
    print(text)
    if args.write:
        args.write.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
