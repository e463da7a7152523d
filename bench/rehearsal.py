"""Benchmark: what the rehearsal itself costs, apart from the app's own install, build and start.

For each example, N local deployments (the package caches warm after the first): the instance's
boot split into the toolchain step (venv / corepack), build.sh, start.sh until the app answers,
and the rest (the rehearsal's own work: fetching and unpacking the source, reading the user
data, writing the files, spawning); then the local load balancer's cost per request, as the
ratio of GETs through it to GETs straight to the app (same process, same moment). Figures
only, never asserted.

    .venv/bin/python bench/rehearsal.py [-n 3] [--requests 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ("flask-app", "express-app")


def _median_ms(url: str, n: int) -> float:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        with opener.open(url, timeout=10) as response:
            response.read()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=3, help="deployments per example")
    parser.add_argument("--requests", type=int, default=200, help="GETs for the proxy's cost")
    args = parser.parse_args()

    from hivemind.local import instances
    from hivemind.local.deploy import deploy_locally

    print(f"# rehearsal overhead: n={args.n} per example, {args.requests} requests, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        for example in EXAMPLES:
            phases: dict[str, list[float]] = {"boot": [], "runtime": [], "build": [], "start": [], "rehearsal": []}
            proxy: list[tuple[float, float]] = []

            def look(runtime, record, phases=phases, proxy=proxy):
                booted = [i for i in instances._instances.values() if i.timings.get("boot")]
                for instance in booted:
                    for name in ("boot", "runtime", "build", "start"):
                        phases[name].append(instance.timings.get(name, 0.0))
                    own = instance.timings["boot"] - sum(
                        instance.timings.get(k, 0.0) for k in ("runtime", "build", "start")
                    )
                    phases["rehearsal"].append(own)
                if record.url and booted:
                    path = record.health.path if record.health else "/"
                    direct = f"http://127.0.0.1:{booted[-1].local_port}{path}"
                    proxy.append((_median_ms(direct, args.requests), _median_ms(record.url + path, args.requests)))

            for _ in range(args.n):
                record, _ = deploy_locally(
                    ROOT / "examples" / example,
                    {"app_name": example},
                    reports_dir=Path(tmp) / "reports",
                    root=ROOT,
                    timeout_s=600,
                    inspect=look,
                )
                if record.status != "SUCCEEDED":
                    print(f"{example}: {record.status}: {record.error}", file=sys.stderr)
                    return 1
            print(f"\n## {example} (first run fills the package caches: the max column)")
            for name, values in phases.items():
                label = {"rehearsal": "rehearsal's own work"}.get(name, name)
                print(
                    f"  {label:<24} {statistics.median(values):7.3f} s  (min {min(values):.3f}, max {max(values):.3f})"
                )
            direct = statistics.median(d for d, _ in proxy)
            through = statistics.median(p for _, p in proxy)
            print(f"  GET straight to the app  {direct:7.2f} ms (median)")
            print(f"  GET through the proxy    {through:7.2f} ms (median): {through / direct:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
