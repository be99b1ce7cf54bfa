#!/usr/bin/env bash
# The browser tests drive Debian's Chromium; never a browser downloaded by a test tool.
set -euo pipefail
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Chromium is missing; installing Debian's chromium package for the browser tests..."
  # Several checkouts may install at once: wait for the package lock rather than fail.
  apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium >/dev/null
  [ -x "$CHROMIUM" ] && exit 0
fi
cat >&2 <<MSG
The browser tests need Chromium at $CHROMIUM and it is not there.
Install it with:   sudo apt-get install chromium     (Debian/Ubuntu)
or point CHROMIUM=/path/to/chromium at an existing Chromium or Chrome binary.
MSG
exit 1
