#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on 127.0.0.1 for the store's scale-out tests and print its URL.
# Usage: eval "$(.ci/start-postgres.sh)"   → exports FEEDPIPE_TEST_PG_URL
set -euo pipefail
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
  echo "installing postgresql" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) >&2
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi
DIR=${PGDATA_DIR:-/tmp/feedpipe-pg}
PORT=${PGPORT_TEST:-54329}
if ! su postgres -s /bin/sh -c "$PGBIN/pg_ctl -D $DIR status" >/dev/null 2>&1; then
  rm -rf "$DIR"; mkdir -p "$DIR"; chown postgres "$DIR"
  su postgres -s /bin/sh -c "$PGBIN/initdb -D $DIR -A trust -U postgres" >/dev/null
  su postgres -s /bin/sh -c "$PGBIN/pg_ctl -D $DIR -l $DIR/log -o '-p $PORT -k /tmp -c listen_addresses=127.0.0.1' -w start" >/dev/null
fi
echo "export FEEDPIPE_TEST_PG_URL=postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
