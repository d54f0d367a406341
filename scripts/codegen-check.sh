#!/usr/bin/env bash
# Fails when schema/generated/operations.ts is not what `npm run codegen` produces from the
# committed SDL and operations; leaves the committed file as it was.
set -euo pipefail
cd "$(dirname "$0")/.."
target=schema/generated/operations.ts
saved=$(mktemp)
cp "$target" "$saved"
npx graphql-codegen --config codegen.yml --silent >/dev/null
if cmp -s "$target" "$saved"; then
  echo "codegen output is up to date"
  rm -f "$saved"
else
  diff -u "$saved" "$target" | head -n 40 || true
  cp "$saved" "$target"
  rm -f "$saved"
  echo "error: $target is stale: run \`npm run codegen\` and commit the result" >&2
  exit 1
fi
