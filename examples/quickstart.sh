#!/usr/bin/env bash
# Starts airlock on its embedded store in front of the local PostgreSQL and
# prints a psql command line that connects through it.
#
#   examples/quickstart.sh          start (again) and print how to connect
#   examples/quickstart.sh stop     stop the background server
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
state=examples/.quickstart
mkdir -p "$state"
pidfile=$state/airlock.pid

if [ "${1:-}" = stop ]; then
  [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null && echo "airlock stopped"
  rm -f "$pidfile"
  exit 0
fi

# The local PostgreSQL, running.
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
  for _ in $(seq 60); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
fi

# Upstream roles and a demo database (the credentials airlock holds).
[ -f "$state/ro.pw" ] || head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$state/ro.pw"
[ -f "$state/rw.pw" ] || head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$state/rw.pw"
export AIRLOCK_DEMO_RO_PASSWORD=$(cat "$state/ro.pw") AIRLOCK_DEMO_RW_PASSWORD=$(cat "$state/rw.pw")
psql -X -q -h 127.0.0.1 -U postgres -d postgres -v ON_ERROR_STOP=1 \
  -v ro="$AIRLOCK_DEMO_RO_PASSWORD" -v rw="$AIRLOCK_DEMO_RW_PASSWORD" <<'SQL' >/dev/null
SELECT format('CREATE ROLE airlock_demo_ro LOGIN PASSWORD %L', :'ro')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'airlock_demo_ro') \gexec
SELECT format('CREATE ROLE airlock_demo_rw LOGIN PASSWORD %L', :'rw')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'airlock_demo_rw') \gexec
SELECT format('ALTER ROLE airlock_demo_ro PASSWORD %L', :'ro') \gexec
SELECT format('ALTER ROLE airlock_demo_rw PASSWORD %L', :'rw') \gexec
SELECT 'CREATE DATABASE airlock_demo' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'airlock_demo') \gexec
SQL
psql -X -q -h 127.0.0.1 -U postgres -d airlock_demo -v ON_ERROR_STOP=1 <<'SQL' >/dev/null
CREATE TABLE IF NOT EXISTS customers (id serial PRIMARY KEY, name text NOT NULL, email text, created timestamptz DEFAULT now());
CREATE TABLE IF NOT EXISTS ledger (id serial PRIMARY KEY, customer int REFERENCES customers, amount numeric(12,2));
INSERT INTO customers (name, email) SELECT 'customer ' || g, 'c' || g || '@example.com' FROM generate_series(1, 100) g
  WHERE NOT EXISTS (SELECT FROM customers);
GRANT CONNECT ON DATABASE airlock_demo TO airlock_demo_ro, airlock_demo_rw;
GRANT USAGE ON SCHEMA public TO airlock_demo_ro, airlock_demo_rw;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO airlock_demo_ro;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO airlock_demo_ro;
GRANT SELECT, INSERT, UPDATE, DELETE ON customers TO airlock_demo_rw;
GRANT SELECT ON ledger TO airlock_demo_rw;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO airlock_demo_rw;
SQL

# Build and start airlock.
mkdir -p bin
go build -o bin/airlock ./cmd/airlock
[ -f "$state/admin.token" ] || echo "alk_$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 43)" > "$state/admin.token"
admin=$(cat "$state/admin.token")
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  kill "$(cat "$pidfile")"; sleep 1
fi
AIRLOCK_BOOTSTRAP_TOKEN=$admin AIRLOCK_PPROF=${AIRLOCK_PPROF:-} nohup bin/airlock serve --config examples/quickstart.yaml >"$state/airlock.log" 2>&1 &
echo $! > "$pidfile"
for _ in $(seq 100); do
  curl -fsS http://127.0.0.1:18080/healthz >/dev/null 2>&1 && break
  kill -0 "$(cat "$pidfile")" 2>/dev/null || { cat "$state/airlock.log"; exit 1; }
  sleep 0.1
done

token=$(bin/airlock tokens issue --server http://127.0.0.1:18080 --token "$admin" --user alice --ttl 1h)
cat <<MSG

airlock is running (pid $(cat "$pidfile"), log $state/airlock.log).

Connect as alice (read-only; the token is her password, valid 1 hour):

  PGPASSWORD=$token psql "host=127.0.0.1 port=15432 user=alice dbname=demo sslmode=disable"

Then try:  SELECT count(*) FROM customers;   DELETE FROM customers WHERE id = 1;

Admin commands (token in $state/admin.token):

  export AIRLOCK_SERVER=http://127.0.0.1:18080 AIRLOCK_TOKEN=$admin
  $root/bin/airlock audit list
  $root/bin/airlock sessions list

Stop it with: examples/quickstart.sh stop
MSG
