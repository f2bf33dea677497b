#!/usr/bin/env bash
# Start PostgreSQL and Redis on 127.0.0.1 if they are not answering (CI machines start them;
# this covers one that stopped). Creates the `cmp` database the suite's URL names.
set -euo pipefail
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
fi
psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'cmp'" | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE cmp" >/dev/null
# tests/test_replicas.py streams a standby from this server (pg_basebackup): let the suite's user
# replicate from 127.0.0.1, trusted as its other connections are. Prepended, since the first
# matching line of pg_hba.conf wins; a reload leaves running connections alone.
if ! psql "host=127.0.0.1 user=postgres dbname=replication replication=true" -c "IDENTIFY_SYSTEM" >/dev/null 2>&1; then
  hba=$(psql -h 127.0.0.1 -U postgres -tAc "SHOW hba_file")
  sed -i "1i host replication postgres 127.0.0.1/32 trust" "$hba"
  psql -h 127.0.0.1 -U postgres -tAc "SELECT pg_reload_conf()" >/dev/null
fi
