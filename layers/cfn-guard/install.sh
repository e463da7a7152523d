#!/usr/bin/env bash
# Install the pinned cfn-guard static binary into DEST (default: the venv's bin).
# It comes from the npm registry package that ships Guard's release binaries; the sha256 of
# each architecture's binary is checked before it is installed.
set -euo pipefail
DEST=${1:-.venv/bin}
PACKAGE=@cdklabs/cdk-validator-cfnguard@0.0.62   # cfn-guard 3.1.1
case "$(uname -m)" in
  x86_64)  ARCH=x86_64;  SHA256=9c7a820318676dc7372f6756ddfc7ca5f0c019299fb5505fda6dfd54718c58bd ;;
  aarch64) ARCH=aarch64; SHA256=f596043df77b6e839759e90e3d08671b5384c6e07d4a9c34f6d0bfbc76148154 ;;
  *) echo "cfn-guard: no binary for $(uname -m)" >&2; exit 1 ;;
esac
if [ -x "$DEST/cfn-guard" ] && [ "$("$DEST/cfn-guard" --version 2>/dev/null)" = "cfn-guard 3.1.1" ]; then
  exit 0
fi
command -v npm >/dev/null || { echo "cfn-guard: npm is needed to fetch the pinned binary" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$PACKAGE" >/dev/null && tar xzf ./*.tgz)
binary="$work/package/bin/ubuntu/$ARCH/cfn-guard"
echo "$SHA256  $binary" | sha256sum -c --quiet - || { echo "cfn-guard: checksum mismatch" >&2; exit 1; }
mkdir -p "$DEST"
install -m 0755 "$binary" "$DEST/cfn-guard"
"$DEST/cfn-guard" --version
