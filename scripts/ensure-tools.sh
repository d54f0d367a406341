#!/usr/bin/env bash
# Tools the test suite uses besides Node, Postgres and Redis: headless Chromium (the /api/docs
# render check) and promtool (the alert rules check). Installed from Debian's packages when
# missing and running as root; otherwise a clear error.
set -euo pipefail

need() { # need <command> <debian package>
  local command=$1 package=$2
  command -v "$command" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing $package (for $command)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$package" >/dev/null \
      || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$package" >/dev/null; }
  fi
  command -v "$command" >/dev/null 2>&1 || {
    echo "error: $command is required: apt-get install -y $package" >&2
    exit 1
  }
}

need "${CHROMIUM_BIN:-chromium}" chromium
need promtool prometheus
