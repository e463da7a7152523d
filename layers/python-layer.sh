#!/bin/sh
# One Python layer for Lambda's python3.13 on x86_64, built by `sam build` (layers/Makefile):
#   python-layer.sh ARTIFACTS_DIR REQUIREMENTS [PACKAGE_DIR]
# - the requirements, every one pinned (dependencies listed too: --no-deps), as wheels for that
#   platform (never a source build on this machine);
# - PACKAGE_DIR (HiveMind's own package) without what only runs on a workstation: the CLI and the
#   local runtime;
# - no test suites of third-party packages (sympy's alone is 10 MB), no botocore examples or old
#   API versions, and no bytecode of the host;
# - bytecode compiled by Python 3.13 with unchecked hashes: /opt is read-only on Lambda, so without
#   it every cold start compiles every module it imports (measured: 2 to 3 times slower imports),
#   and zip archives keep file times to 2 s, so timestamp-checked .pyc files would not match.
set -eu
out="$1/python"
requirements="$2"
package="${3:-}"
python="${PYTHON313:-python3.13}"
if ! command -v "$python" >/dev/null 2>&1; then
  echo "building HiveMind's layers needs Python 3.13 on PATH (pyenv install 3.13; \`make build\` finds it)" >&2
  exit 1
fi
mkdir -p "$out"
"$python" -m pip install --quiet --disable-pip-version-check --no-compile --target "$out" \
  --platform manylinux2014_x86_64 --implementation cp --python-version 3.13 --only-binary=:all: --no-deps \
  --requirement "$requirements"
if [ -n "$package" ]; then
  name="$(basename "$package")"
  cp -R "$package" "$out/$name"
  rm -rf "$out/$name/cli" "$out/$name/local"
fi
# botocore's usage examples (for documentation) and its older API versions (a client takes the
# newest unless it names one; HiveMind never does): 3 MB
if [ -d "$out/botocore/data" ]; then
  find "$out/botocore/data" -name examples-1.json -delete
  for service in "$out"/botocore/data/*/; do
    ls -d "$service"*/ 2>/dev/null | sort | sed '$d' | xargs -r rm -rf
  done
fi
for suite in sympy networkx mpmath; do
  [ -d "$out/$suite" ] && find "$out/$suite" -depth -type d -name tests -exec rm -rf {} +
done
find "$out" -depth -type d -name __pycache__ -exec rm -rf {} +
"$python" -m compileall -q -j 0 --invalidation-mode unchecked-hash "$out" >/dev/null
