#!/usr/bin/env bash
# `npm test`: the whole suite from a fresh clone. Installs, makes sure Postgres and Redis are
# reachable, then runs the static checks, the schema/migration checks and every test against
# real Postgres and Redis (each test worker creates and drops its own database).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh
ensure_deps
bash scripts/ensure-services.sh
bash scripts/ensure-tools.sh
node scripts/prisma-generate.mjs

step() { echo; echo "> $*"; }
step "typecheck";          npx tsc -p tsconfig.json --noEmit
step "lint";               npx eslint .
step "format";             npx prettier --check . >/dev/null && echo "formatting ok"
step "config docs";        npx tsx scripts/config-docs.ts --check
step "migrations vs schema.prisma (db:check)"; npx tsx scripts/db-drift.ts check
step "SDL contract (schema:check)"; npx tsx scripts/schema.ts check
step "codegen output (codegen:check)"; bash scripts/codegen-check.sh
step "tests";              npx vitest run "$@"
