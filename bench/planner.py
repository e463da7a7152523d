"""Benchmark: planning a generated 100,000-file tree (vendored folders included), and planning
each small repository of the test corpus (the everyday case).

Prints the time and peak memory of planning it; figures only, never asserted.

    .venv/bin/python bench/planner.py [--files 100000] [--app node|python]
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any


def build_tree(root: Path, files: int, app: str = "node") -> dict[str, int]:
    """An Express app (or a Flask app) with a big source tree, node_modules, a virtualenv and
    build output. The Flask app's modules each import the next and read the environment: the
    most the start-time environment reader (planning/python/environment.py) can be asked to read."""
    if app == "python":
        (root / "requirements.txt").write_text("flask==3.1.0\ngunicorn==23.0.0\n")
        (root / "app.py").write_text(
            "import os\nfrom flask import Flask\nfrom src.d0 import f0\napp = Flask(__name__)\n\n\n"
            "@app.route('/')\ndef index():\n    return 'ok'\n"
        )
    else:
        manifest = '{"scripts": {"start": "node server.js"}, "dependencies": {"express": "^4"}}'
        (root / "package.json").write_text(manifest)
        (root / "server.js").write_text(
            "const app = require('express')()\napp.get('/', (q, s) => s.send('ok'))\n"
            "app.listen(process.env.PORT || 3000)\n"
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
            if area == "app" and app == "python":
                after = f"from src.d{(i + 1) // 200} import f{i + 1}\n" if i + 1 < n else ""
                (folder / f"f{i}.py").write_text(f"import os\nVALUE = os.environ.get('X_{i}', '{i}')\n{after}")
            else:
                (folder / f"f{i}.js").write_text(f"module.exports = {i}\n")
        counts[area] = n
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--app", choices=("node", "python"), default="node", help="the big tree's app")
    args = parser.parse_args()
    from hivemind.planning import make_plan

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        counts = build_tree(root, args.files, args.app)
        print(f"tree: {sum(counts.values())} files {counts} built in {time.perf_counter() - started:.1f} s")
        # time and memory in separate runs: tracemalloc slows every allocation it traces
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            plan = make_plan(root, app_name="big")
            runs.append(time.perf_counter() - started)
        tracemalloc.start()
        make_plan(root, app_name="big")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    print(f"plan: {plan.language}/{plan.framework}, port {plan.port}, start {plan.start_command!r}")
    print(
        f"planning time: {min(runs):.2f} s (best of 3; runs {', '.join(f'{r:.2f}' for r in runs)}); "
        f"peak Python memory while planning: {peak / 2**20:.1f} MiB; "
        f"process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )
    corpus_figures(make_plan)
    return 0


def corpus_figures(make_plan: Any) -> None:
    """Plan every corpus repository (written to disk once) three times; the median of each."""
    import statistics
    import sys

    from hivemind.errors import HiveMindError
    from hivemind.models import PlanOverrides

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the corpus is test data: tests/fixtures
    from tests.fixtures.repos import CORPUS

    by_language: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, repo in CORPUS.items():
            root = repo.write(Path(tmp) / name)
            runs = []
            for _ in range(3):
                started = time.perf_counter()
                with contextlib.suppress(HiveMindError):  # a corpus repository may be one that must fail
                    make_plan(
                        root, app_name="bench", overrides=PlanOverrides(**repo.overrides), environment=repo.environment
                    )
                runs.append(time.perf_counter() - started)
            language = str(repo.expected.get("language") or "refused")
            by_language.setdefault(language, []).append(statistics.median(runs))

    def line(label: str, times: list[float]) -> str:
        times = sorted(times)
        return (
            f"{label}: {len(times)} repositories; planning one takes {statistics.median(times) * 1000:.1f} ms "
            f"(median), {times[int(len(times) * 0.9)] * 1000:.1f} ms (p90), {times[-1] * 1000:.1f} ms (max)"
        )

    print(line("corpus", [t for times in by_language.values() for t in times]))
    for language, times in sorted(by_language.items()):
        print("  " + line(language, times))


if __name__ == "__main__":
    raise SystemExit(main())
