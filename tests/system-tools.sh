#!/usr/bin/env bash
# The Debian packages some tests use, installed where this machine lets us (root and apt-get),
# best effort: without them those tests skip and say why.
# - nginx: the static-site rehearsal runs the generated nginx config for real
# - chromium: the HTML report is opened in headless Chromium and read off its screenshot
set -uo pipefail
[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || exit 0
missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian's ${missing[*]} for the tests that use them..."
if ! timeout 600 apt-get install -y -q "${missing[@]}" >/dev/null 2>&1; then
  timeout 300 apt-get update -q >/dev/null 2>&1
  timeout 600 apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 \
    || echo "could not install ${missing[*]}: the tests that need them will skip and say why"
fi
exit 0
