#!/usr/bin/env bash
# Make sure the services the test suite needs are installed and running: PostgreSQL, Redis, Chromium.
set -euo pipefail

need_apt=()
command -v pg_ctlcluster >/dev/null 2>&1 || need_apt+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
[ -x /usr/bin/chromedriver ] || need_apt+=(chromium-driver)
# Chinese pages in the browser tests need a CJK font, or the zh-Hans screenshots show boxes.
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need_apt+=(fonts-noto-cjk)
# kubectl renders the Kubernetes manifests in tests/deploy (`kubectl kustomize`); Debian ships it as kubernetes-client.
command -v kubectl >/dev/null 2>&1 || need_apt+=(kubernetes-client)
# `services.sh rabbitmq`: also RabbitMQ, for `make test-rabbitmq`.
want_rabbitmq=false
[ "${1:-}" = "rabbitmq" ] && want_rabbitmq=true
$want_rabbitmq && ! command -v rabbitmq-server >/dev/null 2>&1 && need_apt+=(rabbitmq-server)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "starting PostgreSQL"
  version=$(ls /etc/postgresql | sort -V | tail -1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done
fi
redis-cli -h 127.0.0.1 -p 6379 ping

if $want_rabbitmq; then
  if ! rabbitmqctl -q status >/dev/null 2>&1; then
    echo "starting RabbitMQ"
    (rabbitmq-server -detached >/dev/null 2>&1 || service rabbitmq-server start) || true
    for _ in $(seq 1 60); do rabbitmqctl -q status >/dev/null 2>&1 && break; sleep 1; done
  fi
  rabbitmqctl -q status >/dev/null && echo "RabbitMQ is running"
fi
