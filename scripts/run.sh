#!/usr/bin/env bash
# Runs a command under Node >= 22 (see node-env.sh); npm scripts go through it so they work
# on machines whose system Node is older.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh
exec "$@"
