#!/usr/bin/env bash
# `npm start`: installs what is missing, generates the Prisma client, builds, and runs the
# gateway. With nothing configured it uses an embedded Postgres, migrates, seeds demo data and
# prints the Apollo Sandbox URL.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh
ensure_deps
node scripts/prisma-generate.mjs
echo "> building (tsc)"
npx tsc -p tsconfig.build.json
exec node --enable-source-maps --max-semi-space-size=8 --heap-growing-percent=20 dist/src/main.js
