#!/usr/bin/env bash
# Tools the test suite uses besides Node, Postgres and Redis: headless Chromium (the /api/docs
# render check), promtool (the alert rules check) and nginx (the scale-out test and
# `npm run load -- <scenario> --instances N`). Installed from Debian's packages when missing and
# running as root; otherwise a clear error.
set -euo pipefail

# Debian installs nginx in /usr/sbin, which a non-root user's PATH often lacks; load/cluster/nginx.ts
# looks there too (or takes NGINX_BIN), so the check does the same.
case ":$PATH:" in
  *:/usr/sbin:*) ;;
  *) PATH="$PATH:/usr/sbin" ;;
esac

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
need nginx nginx
