#!/usr/bin/env bash
# Installs what the tests need on a fresh machine, idempotently:
#   - redis-server (Debian package) for the Redis engine tests and the
#     Kinesis Redis lease store;
#   - kinesalite (npm, pinned in test/kinesis/package-lock.json) for the
#     Kinesis engine tests;
#   - the CloudEvents JavaScript SDK, ioredis and kafkajs (npm, pinned in
#     test/interop/package-lock.json) for the Redis and Kafka engines' interop tests
#     with a non-Go client.
# The Kafka tests need no broker installed: they run kfake, in process.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v redis-server >/dev/null 2>&1; then
  echo "test-deps: installing redis-server" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null
fi

if { [ -f test/kinesis/package-lock.json ] || [ -f test/interop/package-lock.json ]; } && ! command -v npm >/dev/null 2>&1; then
  echo "test-deps: installing nodejs and npm" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

if [ -f test/kinesis/package-lock.json ] && [ ! -d test/kinesis/node_modules/kinesalite ]; then
  echo "test-deps: npm ci in test/kinesis" >&2
  npm ci --no-audit --no-fund --loglevel=error --prefix test/kinesis >/dev/null
fi

if [ -f test/interop/package-lock.json ] && { [ ! -d test/interop/node_modules/cloudevents ] || [ ! -d test/interop/node_modules/ioredis ] || [ ! -d test/interop/node_modules/kafkajs ]; }; then
  echo "test-deps: npm ci in test/interop" >&2
  npm ci --no-audit --no-fund --loglevel=error --prefix test/interop >/dev/null
fi
