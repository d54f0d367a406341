#!/usr/bin/env bash
# Makes sure the Postgres and Redis the tests use are reachable, starting the local ones when
# they are not (the test command must work on a fresh machine of this kind).
set -euo pipefail
PGHOST_CHECK="${TEST_PG_HOST:-127.0.0.1}"
PGPORT_CHECK="${TEST_PG_PORT:-5432}"
REDIS_PORT_CHECK="${TEST_REDIS_PORT:-6379}"

pg_up() { pg_isready -q -h "$PGHOST_CHECK" -p "$PGPORT_CHECK" 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT_CHECK" ping 2>/dev/null | grep -q PONG; }

if ! pg_up; then
  echo "> Postgres not reachable on $PGHOST_CHECK:$PGPORT_CHECK: starting the local cluster"
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  pg_up || { echo "error: Postgres is not reachable on $PGHOST_CHECK:$PGPORT_CHECK" >&2; exit 1; }
fi
if ! redis_up; then
  echo "> Redis not reachable on 127.0.0.1:$REDIS_PORT_CHECK: starting a local server"
  if command -v redis-server >/dev/null 2>&1; then
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT_CHECK" --save "" --appendonly no >/dev/null || true
  fi
  for _ in $(seq 1 30); do redis_up && break; sleep 1; done
  redis_up || { echo "error: Redis is not reachable on 127.0.0.1:$REDIS_PORT_CHECK" >&2; exit 1; }
fi
echo "> Postgres and Redis are reachable"
