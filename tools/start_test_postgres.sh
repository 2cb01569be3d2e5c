#!/usr/bin/env bash
# Start the machine's PostgreSQL cluster (Debian packaging) and make a scratch
# database for the test suite. Prints the SQLAlchemy URL on stdout; prints
# nothing when no PostgreSQL server is installed, and the PostgreSQL tests skip.
set -euo pipefail
command -v pg_lsclusters >/dev/null 2>&1 || exit 0
read -r version cluster _ < <(pg_lsclusters --no-header | head -n 1) || exit 0
pg_ctlcluster "$version" "$cluster" start >/dev/null 2>&1 || true
port=$(pg_lsclusters --no-header | awk -v v="$version" -v c="$cluster" '$1==v && $2==c {print $3}')
as_postgres() { runuser -u postgres -- "$@" 2>/dev/null || su postgres -c "$(printf '%q ' "$@")"; }
# The suite's own databases from an earlier run (crmdesk_test, and crmdesk_test_gw0 ... one per test process)
# go first: a role that still owns a database cannot be dropped.
for name in $(as_postgres psql -p "$port" -Atq -c "SELECT datname FROM pg_database WHERE datname ~ '^crmdesk_test(_gw[0-9]+)?\$'"); do
    as_postgres psql -p "$port" -q -v ON_ERROR_STOP=1 -c "DROP DATABASE \"$name\" WITH (FORCE)" >/dev/null
done
as_postgres psql -p "$port" -q -v ON_ERROR_STOP=1 <<'SQL' >/dev/null
DROP ROLE IF EXISTS crmdesk_test;
CREATE ROLE crmdesk_test LOGIN PASSWORD 'crmdesk_test' CREATEDB CREATEROLE;  -- the server set-up tests make their own
CREATE DATABASE crmdesk_test OWNER crmdesk_test;
SQL
echo "postgresql+psycopg://crmdesk_test:crmdesk_test@127.0.0.1:${port}/crmdesk_test"
