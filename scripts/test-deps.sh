#!/usr/bin/env bash
# Installs what the tests need on a fresh machine, idempotently:
#   - redis-server (Debian package) for the Redis engine tests and the
#     Kinesis Redis lease store;
#   - kinesalite (npm, pinned in test/kinesis/package-lock.json) for the
#     Kinesis engine tests;
#   - promtool (Debian package prometheus) to syntax-check the alert rules
#     in deploy/prometheus;
#   - the CloudEvents JavaScript SDK, ioredis and kafkajs (npm, pinned in
#     test/interop/package-lock.json) for the Redis and Kafka engines' interop tests
#     with a non-Go client.
# Kafka tests need nothing: they run kfake, an in-process broker.
#
# Before it installs anything it says what and why, and whether it will
# use sudo. Nothing is installed when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# apt_install PACKAGE... installs Debian packages, after saying which and why.
apt_updated=
apt_install() {
  local why=$1; shift
  local how="apt-get install"
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "test-deps: $why: install $* with your package manager (no apt-get here), then run make test again" >&2
    exit 1
  fi
  if [ "$(id -u)" != 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "test-deps: $why: run as root, or install $* yourself (apt-get install $*): not root and no sudo" >&2
      exit 1
    fi
    how="sudo apt-get install (you may be asked for your password)"
  fi
  echo "test-deps: $why: installing $* with $how" >&2
  if [ -z "$apt_updated" ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! command -v redis-server >/dev/null 2>&1; then
  apt_install "the Redis engine tests and the Kinesis Redis lease store need a private redis-server" redis-server
fi

if ! command -v promtool >/dev/null 2>&1; then
  apt_install "the alert-rule test runs promtool check rules on deploy/prometheus/alerts.yaml" prometheus
fi

if { [ -f test/kinesis/package-lock.json ] || [ -f test/interop/package-lock.json ]; } && ! command -v npm >/dev/null 2>&1; then
  apt_install "the Kinesis engine tests run kinesalite and the interop tests the CloudEvents JavaScript SDK, both Node.js programs" nodejs npm
fi

if [ -f test/kinesis/package-lock.json ] && [ ! -d test/kinesis/node_modules/kinesalite ]; then
  echo "test-deps: the Kinesis engine tests need kinesalite: npm ci in test/kinesis (versions pinned by its package-lock.json)" >&2
  npm ci --no-audit --no-fund --loglevel=error --prefix test/kinesis >/dev/null
fi

if [ -f test/interop/package-lock.json ] && { [ ! -d test/interop/node_modules/cloudevents ] || [ ! -d test/interop/node_modules/ioredis ] || [ ! -d test/interop/node_modules/kafkajs ]; }; then
  echo "test-deps: the interop tests need the CloudEvents JavaScript SDK, ioredis and kafkajs: npm ci in test/interop (versions pinned by its package-lock.json)" >&2
  npm ci --no-audit --no-fund --loglevel=error --prefix test/interop >/dev/null
fi
