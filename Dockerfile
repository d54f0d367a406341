# syntax=docker/dockerfile:1
# The gateway image: Node 24 LTS (DESIGN.md section 5), compiled JavaScript only, non-root.
# Two images come out of this file (docs/deployment.md):
#
#   docker build -t erp-gateway .                                # the gateway (default target)
#   docker build --target backup -t erp-gateway-backup .         # the backup job (adds pg_dump)
#   docker run -p 4000:4000 -e DATABASE_URL_FILE=/run/secrets/db_url ... erp-gateway
#
# NODE_ENV=production: loadConfig refuses to start without DATABASE_URL, REDIS_URL,
# JWT_SECRETS and PASSWORD_PEPPER (or their *_FILE variants, e.g. mounted container secrets),
# refuses weak secrets, and refuses to serve while migrations are pending.
#
# Migrations: tsx is a devDependency and is not in this image, so `npm run db:migrate` does
# not work here. Run the compiled runner (same flags: --status, --allow-destructive=<name>,
# --mark-rolled-back <name>) once per release, before the rollout (deploy/k8s/migrate-job.yaml):
#
#   docker run --rm -e DATABASE_URL_FILE=... -e ... erp-gateway node dist/src/platform/db/migrate.cli.js

ARG NODE_IMAGE=node:24-slim

# ---- build: full install, Prisma client generation, TypeScript compilation ----------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# --ignore-scripts: nothing needs an install script. The Prisma client is engine-free
# (@prisma/adapter-pg); @prisma/engines' postinstall would only try to download the native
# schema engine, which the project never uses (and air-gapped builds cannot fetch).
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json prisma.config.ts ./
COPY scripts/prisma-generate.mjs ./scripts/
COPY prisma/ ./prisma/
COPY src/ ./src/
# prisma-generate.mjs points PRISMA_SCHEMA_ENGINE_BINARY at node itself (generate only needs
# the path to exist) and writes src/generated/prisma, which tsc compiles into dist/.
RUN node scripts/prisma-generate.mjs --force \
 && npx tsc -p tsconfig.build.json

# ---- runtime: production dependencies and the compiled output --------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Optional dependencies stay: @node-rs/argon2 ships its native binary as the optional package of
# each platform. The Prisma CLI, @prisma/engines and typescript (optional peers of
# @prisma/client that npm keeps under --omit=dev) are removed explicitly instead.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm -rf node_modules/prisma node_modules/@prisma/engines node_modules/typescript \
 && npm cache clean --force
# Root-owned and read-only for the `node` user. prisma/migrations is read at startup (the
# migrations gate) from the project root, i.e. the folder holding package.json; config/ holds
# config/<NODE_ENV>.env.
COPY --from=build /app/dist ./dist
COPY prisma/ ./prisma/
COPY config/ ./config/
# The persisted-operation manifest the production default (safelist) serves; mount more manifests
# (one per client app version) and list them in PERSISTED_OPERATIONS_MANIFESTS.
COPY schema/generated/persisted-operations.json ./schema/generated/
# The clients' operations: /api/docs shows them as examples.
COPY schema/operations/ ./schema/operations/
# The one writable folder: the embedded database's default EMBEDDED_DB_DIR (.data/pglite),
# used only when the image is run with NODE_ENV=development (plus HOST=0.0.0.0 to be reachable)
# and no DATABASE_URL.
RUN mkdir -p .data && chown node:node .data
USER node
EXPOSE 4000
# /health/live answers without touching dependencies. No curl in the slim image: node fetches.
# Assumes the default PORT (4000) and HOST (0.0.0.0 in production); adjust if you change them.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:4000/health/live').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]
# Exec form: node is PID 1 and receives SIGTERM itself (src/main.ts drains, then closes the
# database). No shell in between to swallow the signal. The memory flags (docs/capacity.md,
# "Memory"): --max-semi-space-size=8 caps the young generation at two 8 MB semi-spaces (V8's
# own cap is 16 MB ones under a 1 GiB memory limit, 64 MB ones on a large host without a limit);
# --heap-growing-percent=20 starts a major GC when the old generation has grown 20% past what
# the last one kept, instead of letting it reach about twice that. The load runner and npm start
# use the same command (a test holds them equal).
CMD ["node", "--enable-source-maps", "--max-semi-space-size=8", "--heap-growing-percent=20", "dist/src/main.js"]

# ---- backup: the gateway image plus pg_dump, for the backup CronJob ---------------------------
# Same code and configuration as the gateway (the backup CLI loads the same settings and
# secrets), plus the PostgreSQL client tools. pg_dump must be at least the server's major
# version: node:24-slim is Debian bookworm, whose postgresql-client is 15. For a newer server,
# build on a Debian with a newer client: --build-arg NODE_IMAGE=node:24-trixie-slim (client 17).
FROM runtime AS backup
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client \
 && rm -rf /var/lib/apt/lists/*
USER node
# A one-shot job: no HTTP server to health-check.
HEALTHCHECK NONE
CMD ["node", "--enable-source-maps", "dist/src/platform/db/backup.cli.js"]

# ---- gateway: the default target --------------------------------------------------------------
# The last stage is what a plain `docker build .` produces, so it must stay the gateway. BuildKit
# builds only the stages a target needs: building it never runs the backup stage's apt-get.
FROM runtime AS gateway
