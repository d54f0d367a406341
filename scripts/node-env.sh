#!/usr/bin/env bash
# Sourced by every project script: puts a Node >= 22 first on PATH.
# The runtime target is Node 24 LTS; machines whose system Node is older (20 here) get the
# Node 24 binary from the npm registry (`npx -y node@24`), cached after the first call.
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt 22 ]; then
  node24=$(npx -y node@24 -p process.execPath 2>/dev/null | tail -n 1)
  if [ -z "$node24" ] || [ ! -x "$node24" ]; then
    echo "error: Node >= 22 is required and 'npx -y node@24' could not provide it" >&2
    exit 1
  fi
  export PATH="$(dirname "$node24"):$PATH"
fi
# The machine's npmrc sets an option npm 11 warns about on every call; keep the output readable.
export npm_config_loglevel="${npm_config_loglevel:-error}"

# Installs dependencies when node_modules is missing or older than the lockfile.
ensure_deps() {
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "> installing dependencies (npm ci)"
    # No dependency needs an install script (the Prisma client is engine-free, native modules
    # come as platform packages); without them an offline install cannot try to download
    # browsers (artillery's playwright) or engines, as in the Dockerfile.
    npm ci --no-audit --no-fund --ignore-scripts
  fi
}
