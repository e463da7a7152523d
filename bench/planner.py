"""Benchmark: planning a generated 100,000-file tree (vendored folders included).

Prints the time and peak memory of planning it; figures only, never asserted.

    .venv/bin/python bench/planner.py [--files 100000]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path


def build_tree(root: Path, files: int) -> dict[str, int]:
    """An Express app with a big source tree, node_modules, a virtualenv and build output."""
    (root / "package.json").write_text('{"scripts": {"start": "node server.js"}, "dependencies": {"express": "^4"}}')
    (root / "server.js").write_text(
        "const app = require('express')()\napp.get('/', (q, s) => s.send('ok'))\napp.listen(process.env.PORT || 3000)\n"
    )
    counts = {"app": 0, "node_modules": 0, ".venv": 0, ".git": 0}
    shares = {"app": 0.2, "node_modules": 0.6, ".venv": 0.1, ".git": 0.1}
    for area, share in shares.items():
        n = int(files * share)
        base = root if area == "app" else root / area
        if area == ".venv":
            base.mkdir()
            (base / "pyvenv.cfg").write_text("home = /usr\n")
        for i in range(n):
            folder = base / ("src" if area == "app" else "pkg") / f"d{i // 200}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"f{i}.js").write_text(f"module.exports = {i}\n")
        counts[area] = n
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    args = parser.parse_args()
    from hivemind.planning import make_plan

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        counts = build_tree(root, args.files)
        print(f"tree: {sum(counts.values())} files {counts} built in {time.perf_counter() - started:.1f} s")
        tracemalloc.start()
        started = time.perf_counter()
        plan = make_plan(root, app_name="big")
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    print(f"plan: {plan.language}/{plan.framework}, port {plan.port}, start {plan.start_command!r}")
    print(
        f"planning time: {elapsed:.2f} s; peak Python memory while planning: {peak / 2**20:.1f} MiB; "
        f"process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
