#!/usr/bin/env bash
# Fails when the codegen outputs (typed documents, persisted-operation manifest) are not what
# `npm run codegen` produces from the committed SDL and operations; leaves the committed files as
# they were.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=(schema/generated/operations.ts schema/generated/persisted-operations.json)
saved=$(mktemp -d)
for target in "${targets[@]}"; do cp "$target" "$saved/$(basename "$target")"; done
npx graphql-codegen --config codegen.yml --silent >/dev/null
stale=0
for target in "${targets[@]}"; do
  if ! cmp -s "$target" "$saved/$(basename "$target")"; then
    diff -u "$saved/$(basename "$target")" "$target" | head -n 40 || true
    echo "error: $target is stale: run \`npm run codegen\` and commit the result" >&2
    stale=1
  fi
  cp "$saved/$(basename "$target")" "$target"
done
rm -rf "$saved"
[ "$stale" -eq 0 ] && echo "codegen outputs are up to date"
exit "$stale"
